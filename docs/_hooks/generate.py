"""MkDocs hooks: pages whose content has another home are generated from it when the site is built, so the
site cannot drift from the code. `<!-- generated: tasks -->` becomes the task reference (from each task's
docstring and flag help), `<!-- generated: config -->` the config reference (from the JSON Schema that
`goswarm schema` prints, and the defaults), `<!-- generated: benchmarks -->` the figures of bench/RESULTS.md."""
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


def config() -> str:
    """A table per section of goswarm.yaml (key, default, type) and one of a service's fields, from the schema."""
    from goswarm import settings
    from goswarm.plan import schema

    doc = schema.schema(settings.DEFAULTS, settings.top_level_keys())["properties"]
    out = ["### Sections", "", "| key | default | type |", "|---|---|---|"]
    for section, defaults in settings.DEFAULTS.items():
        if not isinstance(defaults, dict) or section not in doc or section == "addons":
            continue
        for key, spec in doc[section]["properties"].items():
            default = defaults.get(key)
            shown = f"`{default}`" if default not in (None, "") else "(none)"
            out.append(f"| `{section}.{key}` | {shown} | {_kind(spec)} |")
    service = doc["services"]["additionalProperties"]
    out += ["", "### A service's fields (`services.NAME`; `addons.NAME` takes the same)", "",
            "Each service needs `port`, and `path` (built) or `image` (deployed as it is).", "",
            "| field | type | meaning |", "|---|---|---|"]
    for name, spec in service["properties"].items():
        out.append(f"| `{name}` | {_kind(spec)} | {_cell(spec.get('description', ''))} |")
    return "\n".join(out) + "\n"


def _kind(spec: dict) -> str:
    if "enum" in spec:
        return " or ".join(f"`{v}`" for v in spec["enum"])
    if "const" in spec:
        return f"`{str(spec['const']).lower()}`"
    if "oneOf" in spec:
        return " or ".join(dict.fromkeys(_kind(s) for s in spec["oneOf"]))
    if spec.get("type") == "array" and spec.get("maxItems") == 0:
        return "`[]`"
    kinds = spec.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    item = _kind(spec["items"]) if "items" in spec else "any"
    names = {"object": "mapping", "array": f"list of ({item})" if " or " in item else f"list of {item}",
             "null": "`null`", "integer": "integer", "number": "number", "string": "string", "boolean": "boolean"}
    return " or ".join(names.get(k, k) for k in kinds)


def _cell(text: str) -> str:
    return text.replace("|", "&#124;")


def benchmarks() -> str:
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    text = re.sub(r"\]\((\w[\w.-]*\.png)\)", r"](benchmarks/\1)", text)  # the plots sit in benchmarks/
    return re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title


GENERATORS = {"tasks": tasks, "config": config, "benchmarks": benchmarks}
