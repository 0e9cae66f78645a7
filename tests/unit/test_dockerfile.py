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


@pytest.mark.parametrize("name, ignored", [
    ("secret.env", True), ("notes/a.md", True), ("notes/keep.md", False), ("deep/x/y.tmp", True),
    ("main.go", False), ("build/out/bin", True)])
def test_dockerignore_rules(name, ignored):
    rules = dockerfile.ignore_rules("# comment\n*.env\nnotes\n!notes/keep.md\n**/*.tmp\n/build\n")
    assert dockerfile.ignored(name, rules) is ignored
