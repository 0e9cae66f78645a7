"""MkDocs hooks: pages whose content has another home are generated from it when the site is built, so the
site cannot drift from the code. `<!-- generated: tasks -->` becomes the task reference (from each task's
docstring and flag help), `<!-- generated: benchmarks -->` the figures of bench/RESULTS.md."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- generated: (\w+) -->")


def on_page_markdown(markdown, page, config, files):
    return MARKER.sub(lambda m: GENERATORS[m.group(1)](), markdown)


def on_files(files, config):
    """The plots bench/RESULTS.md shows, beside the page it becomes."""
    from mkdocs.structure.files import File

    for plot in sorted((ROOT / "bench").glob("*.png")):
        files.append(File.generated(config, f"benchmarks/{plot.name}", abs_src_path=str(plot)))
    return files


def tasks() -> str:
    """One section per task, in `goswarm --list` order: usage, docstring, and a row per flag."""
    from goswarm.tasks import namespace

    ns = namespace(ROOT)
    out = []
    for name in ns.task_names:
        task = ns[name]
        shown = name[: -len(".build")] if name == "build.build" else name
        shown = shown[: -len(".deploy")] if shown == "deploy.deploy" else shown
        args = task.get_arguments()
        usage = " ".join(_usage(a) for a in args)
        out.append(f"### `goswarm {shown}`\n\n`goswarm {shown} {usage}`\n\n{_doc(task)}\n")
        if args:
            out.append("| flag | meaning |\n|---|---|")
            for a in args:
                flags = ", ".join(f"`-{n}`" if len(n) == 1 else f"`--{n}`" for n in a.names)
                out.append(f"| {flags} | {(a.help or '').replace('|', '&#124;')} |")
            out.append("")
    return "\n".join(out)


def _usage(arg) -> str:
    flag = f"--{arg.names[0]}"
    if arg.positional:
        return arg.names[0].upper()
    return f"[{flag}]" if arg.kind is bool else f"[{flag} {arg.names[0].upper().replace('-', '_')}]"


def _doc(task) -> str:
    text = (task.__doc__ or "").strip()
    return re.sub(r"\n\s+", "\n", text)


def benchmarks() -> str:
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    text = re.sub(r"\]\((\w[\w.-]*\.png)\)", r"](benchmarks/\1)", text)  # the plots sit in benchmarks/
    return re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title


GENERATORS = {"tasks": tasks, "benchmarks": benchmarks}
