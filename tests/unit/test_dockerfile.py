"""A Dockerfile read as the builder reads it: instructions, what ADD/COPY take from the context, HEALTHCHECK."""
import pytest

from goswarm.plan import dockerfile

# The blog's accountservice Dockerfile, once it has a health checker beside it.
BLOG = """\
FROM iron/base
EXPOSE 6767
ADD accountservice-linux-amd64 /
ADD healthchecker-linux-amd64 /
HEALTHCHECK --interval=1s --timeout=3s CMD ["./healthchecker-linux-amd64", "-port=6767"] || exit 1
ENTRYPOINT ["./accountservice-linux-amd64"]
"""


def test_instructions_join_continuations_and_skip_comments():
    text = "# syntax\nFROM scratch\n\nCOPY a \\\n  # a comment inside\n  b /\nCMD [\"/a\"]\n"
    assert dockerfile.instructions(text) == [
        dockerfile.Instruction("FROM", "scratch", 2),
        dockerfile.Instruction("COPY", "a b /", 4),
        dockerfile.Instruction("CMD", '["/a"]', 7),
    ]


def test_a_continuation_at_the_end_is_still_an_instruction():
    assert dockerfile.instructions("from scratch\nEXPOSE 80 \\") == [
        dockerfile.Instruction("FROM", "scratch", 1), dockerfile.Instruction("EXPOSE", "80", 2)]


def test_sources_are_what_add_and_copy_take_from_the_context():
    text = ("FROM golang AS build\nCOPY --from=build /out/x /x\nADD https://example.com/a.tgz /\n"
            "COPY --chown=1:1 config.json static/ /app/\nCOPY [\"my file\", \"/dest/\"]\nCOPY ${BINARY} /service\n")
    assert dockerfile.sources(text, {"BINARY": "svc-linux-amd64"}) == [
        "config.json", "static/", "my file", "svc-linux-amd64"]


def test_binaries_are_the_files_named_like_goswarms_build_output():
    assert dockerfile.binaries(BLOG) == [("accountservice", "linux", "amd64"), ("healthchecker", "linux", "amd64")]
    assert dockerfile.binaries("FROM x\nCOPY ./q-svc-linux-arm-v7 config.json /\n") == [("q-svc", "linux", "arm-v7")]
    assert dockerfile.binary("notes-linux.txt") is None


@pytest.mark.parametrize("source, name, takes", [
    ("healthchecker-linux-amd64", "healthchecker-linux-amd64", True),
    ("./healthchecker-linux-amd64", "healthchecker-linux-amd64", True),
    ("*-linux-amd64", "healthchecker-linux-amd64", True),
    (".", "healthchecker-linux-amd64", True),
    ("accountservice-linux-amd64", "healthchecker-linux-amd64", False),
    ("static/", "healthchecker-linux-amd64", False),
])
def test_whether_a_source_takes_a_context_file(source, name, takes):
    assert dockerfile.names(source, name) is takes


def test_healthcheck_is_the_last_one_unless_turned_off():
    assert dockerfile.healthcheck(BLOG).startswith('--interval=1s --timeout=3s CMD ["./healthchecker-linux-amd64"')
    assert dockerfile.healthcheck("FROM x\nHEALTHCHECK CMD a\nHEALTHCHECK NONE\n") is None
    assert dockerfile.healthcheck("FROM x\n") is None


def test_exposed_tcp_ports_with_their_lines():
    assert dockerfile.exposed(BLOG) == [(6767, 2)]
    assert dockerfile.exposed("FROM x\nEXPOSE 80/tcp 53/udp 8080\nEXPOSE 80\n") == [(80, 2), (8080, 2)]


# --- how a user's Dockerfile is built (issue 16) -----------------------------------------------------------------

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
    planned = dockerfile.plan(MULTI, names_for(MULTI), "svc-linux-amd64", ARGS)
    assert (planned.how, planned.dest, planned.bases) == ("binary", "/app", ())
    assert planned.dockerfile == 'FROM scratch\nCOPY svc-linux-amd64 /app\nENTRYPOINT ["/app"]\n'
    assert "compiled on this host, put at /app" in planned.why


def test_a_goreleaser_layout_takes_the_binary_where_its_build_args_put_it():
    planned = dockerfile.plan(GORELEASER, names_for(GORELEASER), "svc-linux-amd64", {**ARGS, "BIN_NAME": "http-echo"})
    assert (planned.how, planned.dest) == ("binary", "/http-echo")
    assert planned.bases == ("gcr.io/distroless/static-debian12:nonroot",)
    assert "COPY svc-linux-amd64 /http-echo\nCOPY LICENSE /usr/share/doc/LICENSE.txt\n" in planned.dockerfile


def test_a_plain_add_of_a_bare_binary_name():
    text = 'FROM alpine:3.1\nADD auth /usr/bin/auth\nENTRYPOINT ["auth"]\n'
    planned = dockerfile.plan(text, {"auth", "auth-linux-amd64"}, "auth-linux-amd64", ARGS)
    assert (planned.how, planned.dest, planned.bases) == ("binary", "/usr/bin/auth", ("alpine:3.1",))
    assert "COPY auth-linux-amd64 /usr/bin/auth" in planned.dockerfile


def test_files_a_go_build_stage_has_from_its_base_are_taken_from_that_base():
    planned = dockerfile.plan(WHOAMI, names_for(WHOAMI), "svc-linux-amd64", ARGS)
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
    planned = dockerfile.plan(text, names_for(text), "svc-linux-amd64", ARGS)
    assert planned.how == "as written" and why in planned.why and planned.dockerfile == text


def test_build_docker_builds_as_written_and_names_every_base():
    planned = dockerfile.plan(WHOAMI, names_for(WHOAMI), "svc-linux-amd64", ARGS, as_written=True)
    assert (planned.how, planned.bases, planned.dockerfile) == ("as written", ("golang:1-alpine",), WHOAMI)


def test_a_dockerfile_that_only_adds_the_context_binary_is_kept_byte_for_byte():
    text = "FROM iron/base\nEXPOSE 6767\nADD svc-linux-amd64 /\nENTRYPOINT [\"./svc-linux-amd64\"]\n"
    assert dockerfile.plan(text, names_for(text), "svc-linux-amd64", ARGS).dockerfile == text


def test_args_fill_in_as_the_builder_does():
    assert dockerfile.substitute("a/${X}/$Y/${Z:-zed}", {"X": "1", "Y": "2"}) == "a/1/2/zed"
    stages = dockerfile.stages("ARG V=3.1\nFROM alpine:$V AS base\nFROM base\n")[1]
    assert [(s.base, s.name) for s in stages] == [("alpine:3.1", "base"), ("base", "1")]


@pytest.mark.parametrize("name, ignored", [
    ("secret.env", True), ("notes/a.md", True), ("notes/keep.md", False), ("deep/x/y.tmp", True),
    ("main.go", False), ("build/out/bin", True)])
def test_dockerignore_rules(name, ignored):
    rules = dockerfile.ignore_rules("# comment\n*.env\nnotes\n!notes/keep.md\n**/*.tmp\n/build\n")
    assert dockerfile.ignored(name, rules) is ignored
