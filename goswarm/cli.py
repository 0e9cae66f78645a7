"""The programs: `goswarm` (an Invoke Program of its own) and the process-wide set-up both it and this
repository's tasks.py need before Invoke loads the config: one-line errors for config files Invoke cannot
read, and SIGTERM unwinding like Ctrl-C."""
import copy
import os
import re
import signal
import sys
import threading
from pathlib import Path

import invoke
from invoke.parser import Argument, ParserContext

from goswarm import errors, program


def merge_conflict(lower: dict, upper: dict, path: tuple = ()):
    """The first key that is a mapping on one side and a plain value on the other, which Invoke cannot
    merge: (dotted key, lower's value, upper's value), or None. Pure."""
    for key, value in upper.items():
        if key not in lower:
            continue
        below = lower[key]
        if isinstance(below, dict) and isinstance(value, dict):
            found = merge_conflict(below, value, (*path, key))
            if found:
                return found
        elif isinstance(below, dict) or isinstance(value, dict):
            return ".".join((*path, str(key))), below, value
    return None


def merged(lower: dict, upper: dict) -> dict:
    """upper over lower, mappings merged key by key (as Invoke merges config files). Pure."""
    out = dict(lower)
    for key, value in upper.items():
        both = isinstance(out.get(key), dict) and isinstance(value, dict)
        out[key] = merged(out[key], value) if both else value
    return out


def explain_merge_error(layers) -> str:
    """layers: (name, data) from lowest to highest (defaults, invoke.yaml, `-f FILE`). Pure."""
    lower = {}
    for name, data in layers:
        found = merge_conflict(lower, data) if isinstance(data, dict) else None
        if found:
            key, below, value = found
            want = "a mapping of settings" if isinstance(below, dict) else "a single value"
            return f"error: {name}: `{key}` must be {want}, got {type(value).__name__} {_brief(value)}"
        lower = merged(lower, data) if isinstance(data, dict) else lower
    return "error: a config file sets a section (a mapping) to a plain value, or the reverse"


def _brief(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _config_layers(defaults: dict, project: Path) -> list:
    """What Invoke merges before a task runs, for explaining a merge error: the collections' defaults,
    the project's config file (goswarm.yaml or invoke.yaml in `project`), and the `-f` file named on
    the command line."""
    import json

    from invoke.util import yaml  # invoke's own (vendored or installed), as it reads these files

    def read(path):
        try:
            text = path.read_text()
            return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError):
            return None

    layers = [("the defaults", defaults)]
    found = project_files(project)
    if found:
        layers.append((found[0].name, read(found[0])))
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg in ("-f", "--config") and i + 1 < len(args):
            layers.append((args[i + 1], read(Path(args[i + 1]))))
        elif arg.startswith("--config="):
            layers.append((arg.split("=", 1)[1], read(Path(arg.split("=", 1)[1]))))
    return layers


def project_files(project: Path) -> list:
    """The project's config files, as the programs read them: goswarm.* first, invoke.* when there is none."""
    for prefix in ("goswarm", "invoke"):
        found = [project / f"{prefix}.{suffix}" for suffix in ("yaml", "yml", "json")
                 if (project / f"{prefix}.{suffix}").is_file()]
        if found:
            return found
    return []


def _config_error(kind, value, tb, defaults=None, project=Path(".")):
    """One line for config that Invoke itself fails to load, or None for any other error."""
    name = f"{kind.__module__}.{kind.__name__}"
    if issubclass(kind, BrokenPipeError):  # `inv swarm.status | head`: the reader left, nothing to report
        return ""
    if kind.__name__ == "AmbiguousMergeError":
        where = project() if callable(project) else project
        return explain_merge_error(_config_layers(defaults() if defaults else {}, where))
    if kind.__name__ == "UnknownFileType":  # "Config files of type '' (from file 'x') are not supported! ..."
        named = re.search(r"from file '([^']*)'", str(value))
        return f"error: config file {named.group(1) if named else ''}: its name must end in .yaml, .yml, .json or .py"
    if "yaml" in name or kind.__name__ == "JSONDecodeError":
        where = getattr(value, "problem_mark", None)
        place = f"{where.name}, line {where.line + 1}" if where else "config file"
        problem = getattr(value, "problem", None) or str(value).splitlines()[0]
        return f"error: malformed config ({place}): {problem}"
    while tb.tb_next:
        tb = tb.tb_next
    if kind.__module__ == "invoke.exceptions" or tb.tb_frame.f_code.co_filename.endswith("invoke/env.py"):
        odd = _non_string_key(defaults, project)
        if odd:
            return odd
        # INVOKE_* (GOSWARM_*) values are cast to the type of the key's default (e.g. INVOKE_DEPLOY_TIMEOUT=abc)
        prefix = "INVOKE" if program.name() == "inv" else "GOSWARM"
        return f"error: an environment variable ({prefix}_*) does not fit its config key: {value}"
    return None


def _non_string_key(defaults, project):
    """A config file with a key YAML made no string (`NO: 1` is false: 1), which Invoke's crawl of the
    GOSWARM_* variables trips on: one line naming the file and where, or None."""
    from goswarm.plan import strict

    where = project() if callable(project) else project
    for name, data in _config_layers(defaults() if defaults else {}, where)[1:]:
        found = strict.first_non_string_key(data)
        if found:
            return (f"error: {name}: {found[0]}: a key YAML read as {strict.what_yaml_made(found[1])}; "
                    f"quote the key to keep it as written")
    return None


def _config_file_hook(default_hook, defaults, project):
    """Invoke loads invoke.yaml, `-f FILE` and INVOKE_* before any task runs; report their errors in one line."""

    def hook(kind, value, tb):
        message = _config_error(kind, value, tb, defaults, project)
        if message is None:
            default_hook(kind, value, tb)
        elif message:
            print(message, file=sys.stderr)

    return hook


# Invoke's core options that do nothing for goswarm (it runs no shell commands of the user's, and no sudo): parsed
# still (Invoke reads them), but not shown in --help.
HIDDEN_CORE = {"hide", "prompt-for-sudo-password", "pty", "echo", "warn-only", "command-timeout", "write-pyc"}
USAGE = 2  # a command line goswarm cannot parse, as for any Unix tool


def usage_error(message: str, task: str, binary: str) -> str:
    """Invoke's parse error as goswarm's one line, pointing at the help that lists what is allowed. Pure."""
    message = message.removeprefix("error: ")
    found = re.match(r"No idea what '(.*)' is!", message)
    needs = re.match(r"Flag <\w*Argument: ([\w-]+)", message)
    missing = re.search(r"did not receive required positional arguments: (.*)$", message)
    if missing:
        said = f"{task}: {' and '.join('--' + n.strip(' ' + chr(39)) for n in missing.group(1).split(','))} " \
               f"{'is' if ',' not in missing.group(1) else 'are'} required"
    elif needs:
        said = f"{task + ': ' if task else ''}--{needs.group(1)} needs a value"
    elif found and task:
        said = f"{task} has no option {found.group(1)}"
    elif found:
        said = f"no task or option {found.group(1)!r}"
    else:
        said = f"{task}: {message[:1].lower()}{message[1:]}" if task else message
    return f"error: {said.rstrip('!')}; see `{binary} {task + ' ' if task else ''}--help`"


def install_signal_handlers():
    """SIGTERM (a cancelled CI job, `kill`) unwinds like Ctrl-C, so the same cleanup runs."""

    def interrupt(signum, frame):
        errors.TERMINATED.append(signum)
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def install_config_error_hook(defaults, project: Path):
    """defaults: returns the collections' config defaults; project: where the project's config file is.
    Both to say which key of which file is wrong."""
    if not getattr(sys.excepthook, "_goswarm", False):
        sys.excepthook = _config_file_hook(sys.excepthook, defaults, project)
        sys.excepthook._goswarm = True


def inv_namespace(project_root: Path):
    """What this repository's tasks.py gives `inv`: the collections, rooted at the repository, with the
    process-wide set-up that must come before Invoke loads the config."""
    from goswarm.tasks import namespace

    ns = namespace(project_root)
    set_up_process(ns, project_root)
    return ns


def set_up_process(ns, project_root: Path) -> None:
    """What `inv` and `goswarm` set up before Invoke parses anything: signals, the config error hook, and a help
    that names FLOAT options (Invoke makes the parser contexts of tasks.py's collection itself, so it is
    Invoke's ParserContext that learns it)."""
    from goswarm.tasks.base import showing_float

    ParserContext.help_for = showing_float(ParserContext.help_for)
    install_signal_handlers()
    install_config_error_hook(ns.configuration, project_root)


class Config(invoke.Config):
    """The goswarm command's config: goswarm.yaml in the project (invoke.yaml when that is all there is),
    ~/.goswarm.yaml and /etc/goswarm.yaml, GOSWARM_* variables, and `-f FILE` last."""

    prefix = "goswarm"

    def load_project(self, merge: bool = True) -> None:
        found = project_files(Path(self._project_prefix)) if self._project_prefix else []
        if not found or found[0].name.startswith("goswarm."):
            super().load_project(merge)
            return
        self._set(file_prefix="invoke")  # a project set up for `inv`: read its invoke.yaml
        try:
            super().load_project(merge)
        finally:
            self._set(file_prefix=None)


    def load_destination(self, root: Path, name: str) -> None:
        """goswarm.<name>.yaml (or .yml, .json) merged over the project's file; ValueError in one line when the
        destination has neither that file nor a .env.<name>."""
        from invoke.config import merge_dicts
        from invoke.util import yaml

        if not DESTINATION.fullmatch(name):
            raise ValueError(f"--destination {name!r}: a destination is a name of lower-case letters, digits, "
                             f"'-' and '_' (at most 16)")
        found = [root / f"goswarm.{name}.{suffix}" for suffix in ("yaml", "yml", "json")
                 if (root / f"goswarm.{name}.{suffix}").is_file()]
        if not found and not (root / f".env.{name}").is_file():
            raise ValueError(f"destination {name}: there is no goswarm.{name}.yaml or .env.{name} in {root}")
        if not found:
            return
        try:
            data = yaml.safe_load(found[0].read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"{found[0].name}: {str(e).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{found[0].name} must be a mapping of settings, like goswarm.yaml")
        self._set(_project=merge_dicts(copy.deepcopy(self._project), data))
        self.merge()


DESTINATION = re.compile(r"[a-z0-9][a-z0-9_-]{0,15}")


class Program(invoke.Program):
    """`goswarm`: the same collections as `inv` in this repository, for any project, with -r/--root."""

    def core_args(self) -> list:
        # -r names the project's root here; invoke's own -r (where to look for tasks.py) has no use. -d is the
        # destination, as in Kamal; Invoke's debug output keeps --debug.
        args = [a for a in super().core_args() if "search-root" not in a.names]
        for arg in args:
            if "debug" in arg.names:
                arg.names = ("debug",)
        return args + [Argument(names=("root", "r"), help="The project's directory (default: the current one)."),
                       Argument(names=("destination", "d"), help="Deploy to DEST: goswarm.DEST.yaml and .env.DEST "
                                                                 "over the project's own (its own lock, labels and "
                                                                 "release file).")]

    def print_help(self) -> None:
        """Invoke's, without the core options in HIDDEN_CORE."""
        print(f"Usage: {self.binary} [--core-opts] <subcommand> [--subcommand-opts] ...\n\nCore options:\n")
        self.print_columns([(flags, text) for flags, text in self.initial_context.help_tuples()
                            if not set(re.findall(r"--([\w-]+)", flags)) & HIDDEN_CORE])
        if self.namespace is not None:
            self.list_tasks()

    def _usage(self, parse, *args) -> None:
        """A parse error exits 2 with one line that points at the help."""
        from invoke.exceptions import ParseError

        try:
            parse(*args)
        except ParseError as e:
            task = self._as_typed(getattr(getattr(e, "context", None), "name", None)) or self._task_named() or ""
            raise invoke.Exit(usage_error(str(e), task, self.binary), USAGE) from None

    def _as_typed(self, name):
        """A task the parser names (build.build) as the command line typed it (build)."""
        if not name:
            return None
        unparsed = getattr(getattr(self, "core", None), "unparsed", None) or []
        for token in unparsed:
            try:
                if token == name or self.collection[token] is self.collection[name]:
                    return token
            except (KeyError, ValueError, TypeError):
                continue
        return name

    def _task_named(self):
        """The task the command line names first (an option's value is checked before its task is known)."""
        unparsed = getattr(getattr(self, "core", None), "unparsed", None) or []
        collection = getattr(self, "collection", None)
        names = set(collection.task_names) | {a for t in collection.task_names.values() for a in t} \
            if collection is not None else set()
        return next((token for token in unparsed if token in names), None)

    def parse_core(self, argv) -> None:
        self._usage(super().parse_core, argv)

    def parse_tasks(self) -> None:
        task = self._task_named()
        if task and {"--help", "-h"} & set(self.core.unparsed):  # before its positional arguments are required
            self.parser = self._make_parser()
            self.print_task_help(task)
            raise invoke.Exit
        self._usage(super().parse_tasks)

    def parse_cleanup(self) -> None:
        self._usage(super().parse_cleanup)

    def parse_collection(self) -> None:
        super().parse_collection()
        root = Path(self.args.root.value or os.environ.get("GOSWARM_ROOT") or Path.cwd()).resolve()
        if not root.is_dir():
            raise invoke.Exit(f"error: --root {root} is not a directory", 1)
        os.environ["GOSWARM_ROOT"] = str(root)
        self.config.set_project_location(str(root))
        self.config.load_project()
        destination = self.args.destination.value or os.environ.get("GOSWARM_DESTINATION", "")
        if destination:
            try:
                self.config.load_destination(root, destination)
            except ValueError as e:
                raise invoke.Exit(f"error: {e}", 1) from None
            os.environ["GOSWARM_DESTINATION"] = destination


def main() -> None:
    from goswarm import __version__
    from goswarm.io import environment
    from goswarm.tasks import namespace

    ns = namespace()
    set_up_process(ns, environment.project_root)
    Program(name="goswarm", binary="goswarm", version=__version__, namespace=ns, config_class=Config).run()
