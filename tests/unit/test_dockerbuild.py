"""How goswarm builds a user's Dockerfile (issue 16): the final stage with goswarm's binary where it only copies the
binary (from the context, a goreleaser layout, a bare name, a Go build stage), else as written; the bases it needs."""
import pytest

from goswarm.plan import dockerbuild, dockerfile

ARGS = {"BINARY": "svc-linux-amd64", "TARGETOS": "linux", "TARGETARCH": "amd64"}
MULTI = """FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /app .
FROM scratch
COPY --from=build /app /app
ENTRYPOINT ["/app"]
"""
GORELEASER = """FROM gcr.io/distroless/static-debian12:nonroot AS default
ARG TARGETOS
ARG TARGETARCH
ARG BIN_NAME
COPY dist/$TARGETOS/$TARGETARCH/$BIN_NAME /
COPY LICENSE /usr/share/doc/LICENSE.txt
ENTRYPOINT ["/http-echo"]
"""
WHOAMI = """FROM golang:1-alpine as builder
RUN apk add tzdata ca-certificates make
WORKDIR /go/whoami
COPY . .
RUN make build
FROM scratch
COPY --from=builder /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=builder /go/whoami/whoami .
ENTRYPOINT ["/whoami"]
"""


def names_for(text, *more):
    return {"svc", dockerfile.entrypoint_binary(text), *more} - {None}


def test_a_multi_stage_build_whose_final_stage_copies_the_binary_takes_goswarms():
    planned = dockerbuild.plan(MULTI, names_for(MULTI), "svc-linux-amd64", ARGS)
    assert (planned.how, planned.dest, planned.bases) == ("binary", "/app", ())
    assert planned.dockerfile == 'FROM scratch\nCOPY svc-linux-amd64 /app\nENTRYPOINT ["/app"]\n'
    assert "compiled on this host, put at /app" in planned.why


def test_a_goreleaser_layout_takes_the_binary_where_its_build_args_put_it():
    planned = dockerbuild.plan(GORELEASER, names_for(GORELEASER), "svc-linux-amd64", {**ARGS, "BIN_NAME": "http-echo"})
    assert (planned.how, planned.dest) == ("binary", "/http-echo")
    assert planned.bases == ("gcr.io/distroless/static-debian12:nonroot",)
    assert "COPY svc-linux-amd64 /http-echo\nCOPY LICENSE /usr/share/doc/LICENSE.txt\n" in planned.dockerfile


def test_a_plain_add_of_a_bare_binary_name():
    text = 'FROM alpine:3.1\nADD auth /usr/bin/auth\nENTRYPOINT ["auth"]\n'
    planned = dockerbuild.plan(text, {"auth", "auth-linux-amd64"}, "auth-linux-amd64", ARGS)
    assert (planned.how, planned.dest, planned.bases) == ("binary", "/usr/bin/auth", ("alpine:3.1",))
    assert "COPY auth-linux-amd64 /usr/bin/auth" in planned.dockerfile


def test_files_a_go_build_stage_has_from_its_base_are_taken_from_that_base():
    planned = dockerbuild.plan(WHOAMI, names_for(WHOAMI), "svc-linux-amd64", ARGS)
    assert (planned.how, planned.dest, planned.bases) == ("binary", "./whoami", ("golang:1-alpine",))
    assert planned.borrowed == (("golang:1-alpine", "/usr/share/zoneinfo"),
                                ("golang:1-alpine", "/etc/ssl/certs/ca-certificates.crt"))
    assert "COPY --from=golang:1-alpine /usr/share/zoneinfo /usr/share/zoneinfo\n" in planned.dockerfile


@pytest.mark.parametrize("text, why", [
    (MULTI.replace("FROM scratch\n", "FROM scratch\nRUN [\"/app\", \"-init\"]\n"), "runs commands"),
    (MULTI.replace("COPY --from=build /app /app", "COPY --from=build /app /app\nCOPY --from=build /src/web /web"),
     "takes files that stage build makes"),
    ("FROM scratch AS files\nCOPY data.txt /data.txt\nFROM scratch\nCOPY --from=files /data.txt /\n"
     "COPY svc-linux-amd64 /svc\n", "takes files that stage files makes"),
    ("FROM scratch\nCOPY config.json /\n", "no file that is the service's binary"),
])
def test_a_dockerfile_that_does_more_is_built_as_written(text, why):
    planned = dockerbuild.plan(text, names_for(text), "svc-linux-amd64", ARGS)
    assert planned.how == "as written" and why in planned.why and planned.dockerfile == text


def test_build_docker_builds_as_written_and_names_every_base():
    planned = dockerbuild.plan(WHOAMI, names_for(WHOAMI), "svc-linux-amd64", ARGS, as_written=True)
    assert (planned.how, planned.bases, planned.dockerfile) == ("as written", ("golang:1-alpine",), WHOAMI)


def test_a_dockerfile_that_only_adds_the_context_binary_is_kept_byte_for_byte():
    text = "FROM iron/base\nEXPOSE 6767\nADD svc-linux-amd64 /\nENTRYPOINT [\"./svc-linux-amd64\"]\n"
    assert dockerbuild.plan(text, names_for(text), "svc-linux-amd64", ARGS).dockerfile == text


def test_args_fill_in_as_the_builder_does():
    assert dockerbuild.substitute("a/${X}/$Y/${Z:-zed}", {"X": "1", "Y": "2"}) == "a/1/2/zed"
    stages = dockerbuild.stages("ARG V=3.1\nFROM alpine:$V AS base\nFROM base\n")[1]
    assert [(s.base, s.name) for s in stages] == [("alpine:3.1", "base"), ("base", "1")]
