"""Load rule files (YAML) into a validated, immutable `RuleSet`.

Every problem is reported with its file and line, all at once, at load time:
a rule set that loads is complete (every version and every question has
exactly one rule), so nothing can go wrong halfway through a conversation.
"""

from __future__ import annotations

import functools
import hashlib
import re
import string
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from rules.check import Problem, check_whole_set, interval_of, is_empty
from rules.model import INTENTS, OUTCOMES
from rules.ruleset import RESTORE_SPACE, Line, Rule, RuleSet, Settings, Source
from rules.vocabulary import Vocabulary, build_vocabulary

RULE_KEYS = {
    "id", "intent", "from", "to", "node", "backup", "topology", "case", "fallback", "row",
    "source", "outcome", "verdict", "summary", "reason", "steps", "warnings", "nearest_rows",
    "backup_restore_required", "follower_rebuild", "followers", "follows", "contact_support",
    "example", "restores", "not_possible",
}
REQUIRED_RULE_KEYS = ("id", "intent", "source", "outcome", "verdict")
SETTINGS_KEYS = {"command", "support_contact", "docs_url", "examples", "support_checklist"}
TOP_KEYS = {"settings", "sources", "rules", "vocabulary"}
SOURCE_KEYS = {"title", "url"}
PLACEHOLDERS = {
    "from_version", "to_version", "node", "command", "support_contact", "docs_url", "nearest_rows",
}
TEXT_KEYS = ("verdict", "summary", "reason", "followers", "not_possible")
# Steps and warnings: each a text, or {text: ..., topology: [...]} for some topologies only.
LINE_KEYS = ("steps", "warnings")
LINE_ITEM_KEYS = {"text", "topology"}
BOOL_KEYS = ("fallback", "follower_rebuild", "contact_support", "restores")
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9.\-]{0,79}")


class RuleFileError(Exception):
    """The rule files do not load; `problems` says every reason, with file and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"the rule files have {len(problems)} problem(s):\n{lines}")


# --- loading -------------------------------------------------------------------------------


# libyaml's loader where PyYAML was built with it: the same safe loader, several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SAFE_LOADER):
    """The safe loader, remembering each mapping's line and rejecting duplicate keys."""


def _refuse_aliases(raw: str) -> None:
    """Rule files need no aliases (`*name`): refusing the first one, before anything is
    built, stops an alias bomb (a few lines that expand to gigabytes)."""
    for event in yaml.parse(raw, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed in rule files; "
                "write the value out", event.start_mark)


class _Mapping(dict):
    line: int = 0


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, Iterable) and not isinstance(key, str):
            continue  # an odd key; reported as an unknown key later
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen[key] = True
    mapping = _Mapping(loader.construct_mapping(node, deep=deep))
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def packaged_rules_dir() -> Path:
    return Path(str(resources.files("rules") / "data"))


def rule_files(path: str | Path) -> list[Path]:
    """The rule files at `path`: a directory's, or one file in place of the packaged file of
    its name, with the other packaged files (a set needs settings, vocabulary and rules)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    packaged = [p for p in rule_files(packaged_rules_dir()) if p.name != path.name]
    return sorted([path, *packaged], key=lambda p: p.name)


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """Load and validate the rule files at `path` (a file or directory; None: packaged rules).

    Raises `RuleFileError` listing every problem with its file and line.
    """
    ruleset, problems = _load(path)
    if problems:
        raise RuleFileError(problems)
    return ruleset


def check_rules(path: str | Path | None = None) -> list[Problem]:
    """Every problem in the rule files at `path`; an empty list means they load."""
    return _load(path)[1]


@functools.cache
def default_ruleset() -> RuleSet:
    """The packaged rules, loaded once."""
    return load_ruleset(None)


def _load(path: str | Path | None) -> tuple[RuleSet | None, list[Problem]]:
    directory = packaged_rules_dir() if path is None else Path(path)
    if not directory.exists():
        return None, [Problem(str(directory), None, "no such file or directory")]
    files = rule_files(directory)
    if not files:
        return None, [Problem(str(directory), None, "no rule files (*.yaml, *.yml) here")]
    builder = _Builder()
    for file in files:
        builder.add_file(file)
    origin = ("packaged rules" if path is None else str(directory) if directory.is_dir()
              else f"{directory} with the other packaged rules")
    return builder.finish(origin=origin)


class _Builder:
    """Collects rules, sources and settings from several files, then checks the whole set."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.rules: list[Rule] = []
        self.sources: dict[str, Source] = {}
        self.settings: dict = {}
        self.settings_where: str | None = None
        self.vocabulary: Vocabulary | None = None
        self.vocabulary_where: str | None = None
        # The rule-set version: a SHA-256 over each file's name and the bytes parsed, so the
        # same files give the same version wherever they are, and any edit a new one.
        self.digest = hashlib.sha256()

    def problem(self, file: Path | str, line: int | None, message: str) -> None:
        self.problems.append(Problem(str(file), line, message))

    def add_file(self, file: Path) -> None:
        try:
            data = file.read_bytes()
            self.digest.update(f"{file.name}\0{len(data)}\0".encode() + data)
            raw = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(file, None, f"cannot read the file: {exc}")
            return
        try:
            _refuse_aliases(raw)
            data = yaml.load(raw, Loader=_LineLoader)  # noqa: S506 - a safe loader subclass
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            self.problem(file, line, f"not valid YAML: {exc.problem or exc}")
            return
        except yaml.YAMLError as exc:
            self.problem(file, None, f"not valid YAML: {exc}")
            return
        if data is None:
            self.problem(file, None, "the file is empty")
            return
        if not isinstance(data, dict):
            self.problem(file, 1, "the top level must be a mapping with settings, sources, rules")
            return
        for key in data:
            if key not in TOP_KEYS:
                self.problem(file, data.line, f"unknown top-level key {key!r} "
                             f"(allowed: {', '.join(sorted(TOP_KEYS))})")
        if "settings" in data:
            self.add_settings(file, data["settings"], data.line)
        if "sources" in data:
            self.add_sources(file, data["sources"], data.line)
        if "vocabulary" in data:
            self.add_vocabulary(file, data["vocabulary"], data.line)
        rules = data.get("rules", [])
        if not isinstance(rules, list):
            self.problem(file, data.line, "'rules' must be a list of rules")
            return
        for record in rules:
            self.add_rule(file, record, data.line)

    def add_settings(self, file: Path, settings: object, line: int) -> None:
        if not isinstance(settings, dict):
            self.problem(file, line, "'settings' must be a mapping")
            return
        if self.settings_where:
            self.problem(file, settings.line,
                         f"settings are already given at {self.settings_where}")
            return
        self.settings_where = f"{file}:{settings.line}"
        for key, value in settings.items():
            if key not in SETTINGS_KEYS:
                self.problem(file, settings.line, f"unknown settings key {key!r} "
                             f"(allowed: {', '.join(sorted(SETTINGS_KEYS))})")
            elif key == "support_checklist":
                self.settings[key] = self.parse_lines(file, settings.line, "settings", key, value)
            elif key == "examples":
                if not _is_str_list(value):
                    self.problem(file, settings.line, f"settings.{key} must be a list of text")
                else:
                    self.settings[key] = tuple(value)
            elif value is not None and not (isinstance(value, str) and value.strip()):
                self.problem(file, settings.line, f"settings.{key} must be text")
            else:
                self.settings[key] = value

    def add_vocabulary(self, file: Path, vocabulary: object, line: int) -> None:
        where = getattr(vocabulary, "line", line)
        if self.vocabulary_where:
            self.problem(file, where, f"the vocabulary is already given at "
                         f"{self.vocabulary_where}")
            return
        self.vocabulary_where = f"{file}:{where}"
        self.vocabulary, problems = build_vocabulary(vocabulary)
        for at, message in problems:
            self.problem(file, at or where, message)

    def add_sources(self, file: Path, sources: object, line: int) -> None:
        if not isinstance(sources, dict):
            self.problem(file, line, "'sources' must be a mapping of source id to title and url")
            return
        for source_id, record in sources.items():
            where = getattr(record, "line", sources.line)
            if not isinstance(record, dict):
                self.problem(file, where, f"source {source_id!r} must have a title and a url")
                continue
            unknown = set(record) - SOURCE_KEYS
            if unknown:
                self.problem(file, where, f"source {source_id!r} has unknown key(s) "
                             f"{', '.join(sorted(map(str, unknown)))}")
            title, url = record.get("title"), record.get("url")
            if not isinstance(title, str) or not title.strip():
                self.problem(file, where, f"source {source_id!r} needs a title")
                continue
            if url is not None and not (isinstance(url, str) and re.match(r"https?://", url)):
                self.problem(file, where, f"source {source_id!r}: url must be http(s) or null")
                continue
            if source_id in self.sources:
                self.problem(file, where, f"source {source_id!r} is defined twice")
            self.sources[str(source_id)] = Source(str(source_id), title.strip(), url)

    def add_rule(self, file: Path, record: object, line: int) -> None:
        if not isinstance(record, dict):
            self.problem(file, line, "each rule must be a mapping of keys to values")
            return
        where = record.line
        problems_before = len(self.problems)
        name = record.get("id")
        label = f"rule {name!r}" if isinstance(name, str) else "a rule"
        for key in record:
            if key not in RULE_KEYS:
                self.problem(file, where, f"{label} has unknown key {key!r}")
        for key in REQUIRED_RULE_KEYS:
            if key not in record:
                self.problem(file, where, f"{label} is missing {key!r}")
        if len(self.problems) > problems_before:
            return
        if not isinstance(name, str) or not ID_PATTERN.fullmatch(name):
            self.problem(file, where, f"{label}: id must be lower-case letters, digits, '.', '-'")
        if record["intent"] not in INTENTS:
            self.problem(file, where, f"{label}: intent {record['intent']!r} is not one of "
                         f"{', '.join(INTENTS)}")
        if record["outcome"] not in OUTCOMES:
            self.problem(file, where, f"{label}: outcome {record['outcome']!r} is not one of "
                         f"{', '.join(OUTCOMES)}")
        for key in TEXT_KEYS:
            if key in record and not (isinstance(record[key], str) and record[key].strip()):
                self.problem(file, where, f"{label}: {key} must be text")
        if "nearest_rows" in record and not _is_str_list(record["nearest_rows"]):
            self.problem(file, where, f"{label}: nearest_rows must be a list of text")
        lines = {key: self.parse_lines(file, where, label, key, record.get(key, []))
                 for key in LINE_KEYS}
        situation = {key: self.parse_names(file, where, label, key, record.get(key))
                     for key in RESTORE_SPACE}
        follows = record.get("follows")
        if follows is not None and not isinstance(follows, str):
            self.problem(file, where, f"{label}: follows must be the id of a table row's rule")
        for key in BOOL_KEYS:
            if key in record and not isinstance(record[key], bool):
                self.problem(file, where, f"{label}: {key} must be true or false")
        brr = record.get("backup_restore_required")
        if brr is not None and not isinstance(brr, bool):
            self.problem(file, where, f"{label}: backup_restore_required must be true, false "
                         "or null")
        specs = {}
        for key in ("from", "to"):
            if key in record:
                specs[key] = self.parse_spec(file, where, label, key, record[key])
        case = record.get("case")
        if case is not None and not isinstance(case, str):
            self.problem(file, where, f"{label}: case must be text")
        row = record.get("row")
        if row is not None and not isinstance(row, (str, int, float)):
            self.problem(file, where, f"{label}: row must be text")
        example = record.get("example")
        if example is not None and not isinstance(example, str):
            self.problem(file, where, f"{label}: example must be a version in quotes")
        for key in TEXT_KEYS:
            for text in _texts(record.get(key)):
                self.check_placeholders(file, where, label, key, text)
        for key in LINE_KEYS:
            for item in lines[key]:
                self.check_placeholders(file, where, label, key, item.text)
        if len(self.problems) > problems_before:
            return
        interval = None
        if specs.get("from") is not None:
            interval = interval_of(specs["from"])
            if interval is None:
                self.problem(file, where, f"{label}: from {record['from']!r} must be a range "
                             "of >=, >, <=, < or == clauses (no !=, ~= or wildcards)")
                return
        self.rules.append(Rule(
            id=name, intent=record["intent"], source=str(record["source"]),
            outcome=record["outcome"], verdict=record["verdict"].strip(), file=str(file),
            line=where, from_spec=specs.get("from"), to_spec=specs.get("to"),
            interval=interval, nodes=situation["node"], backups=situation["backup"],
            topologies=situation["topology"], case=case, followers=_strip(record.get("followers")),
            not_possible=_strip(record.get("not_possible")),
            follows=follows,
            fallback=record.get("fallback", False), example=example,
            restores=record.get("restores", False),
            row=None if row is None else str(row), summary=_strip(record.get("summary")),
            reason=_strip(record.get("reason")), steps=lines["steps"],
            warnings=lines["warnings"],
            nearest_rows=tuple(str(r) for r in record.get("nearest_rows", ())),
            backup_restore_required=brr,
            follower_rebuild=record.get("follower_rebuild", False),
            contact_support=record.get("contact_support", False),
        ))

    def parse_names(self, file, where, label, key, value) -> tuple[str, ...]:
        """A situation key of a restore rule: one name or a list of them (RESTORE_SPACE)."""
        if value is None:
            return ()
        names = [value] if isinstance(value, str) else value
        allowed = RESTORE_SPACE[key]
        if not isinstance(names, list) or not names or not all(
                isinstance(n, str) and n in allowed for n in names):
            self.problem(file, where, f"{label}: {key} must be one of {', '.join(allowed)}, or a "
                         "list of them")
            return ()
        return tuple(dict.fromkeys(names))

    def parse_lines(self, file, where, label, key, value) -> tuple[Line, ...]:
        """Steps or warnings: each a text, or {text: ..., topology: [...]}."""
        if not isinstance(value, list):
            self.problem(file, where, f"{label}: {key} must be a list")
            return ()
        lines = []
        for item in value:
            if isinstance(item, str) and item.strip():
                lines.append(Line(item))
                continue
            at = getattr(item, "line", where)
            text = item.get("text") if isinstance(item, dict) else None
            if not isinstance(text, str) or not text.strip() or set(item) - LINE_ITEM_KEYS:
                self.problem(file, at, f"{label}: each of its {key} must be text, or a mapping "
                             "with text and topology")
                continue
            topologies = self.parse_names(file, at, label, "topology", item.get("topology"))
            lines.append(Line(text, topologies))
        return tuple(lines)

    def parse_spec(self, file, where, label, key, value) -> SpecifierSet | None:
        if not isinstance(value, str) or not value.strip():
            self.problem(file, where, f"{label}: {key} must be a version range such as "
                         "'>=7.0,<8.0'")
            return None
        try:
            spec = SpecifierSet(value)
        except InvalidSpecifier:
            self.problem(file, where, f"{label}: {key} {value!r} is not a valid version range "
                         "(use specifiers such as '>=7.0,<8.0' or '==6.5.4')")
            return None
        interval = interval_of(spec)
        if interval is not None and is_empty(interval):
            self.problem(file, where, f"{label}: {key} {value!r} matches no version")
            return None
        return spec

    def check_placeholders(self, file, where, label, key, text) -> None:
        try:
            fields = [(name, spec, conversion) for _, name, spec, conversion
                      in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            self.problem(file, where, f"{label}: {key} has a broken {{placeholder}}: {exc}")
            return
        names = {name for name, _, _ in fields}
        # A format spec or conversion fails an answer later ("{support_contact:d}") or
        # builds a huge one ("{node:>300000000}"): only plain placeholders are filled.
        for name, spec, conversion in fields:
            if spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "") + \
                    (f":{spec}" if spec else "") + "}"
                self.problem(file, where, f"{label}: {key} {shown} is not a plain placeholder "
                             f"(no format spec or conversion, such as :d or !r): write "
                             f"{{{name}}}")
        unknown = names - PLACEHOLDERS
        if unknown:
            self.problem(file, where, f"{label}: {key} uses unknown placeholder(s) "
                         f"{', '.join('{' + n + '}' for n in sorted(unknown))} (allowed: "
                         f"{', '.join('{' + n + '}' for n in sorted(PLACEHOLDERS))})")

    def finish(self, origin: str) -> tuple[RuleSet | None, list[Problem]]:
        if self.vocabulary is None and not self.problems:
            self.problem(self.settings_where or "the rule files", None,
                         "no 'vocabulary' section in any rule file")
        if self.problems:
            # A rule or file already rejected would show up again here as a gap or a
            # missing answer: report the cause only.
            return None, self.problems
        settings_file = self.settings_where.rsplit(":", 1)[0] if self.settings_where else None
        by_key, problems = check_whole_set(self.rules, self.sources, self.vocabulary,
                                           settings_file)
        if problems:
            return None, problems
        ruleset = RuleSet(settings=Settings(**self.settings), sources=dict(self.sources),
                          rules=tuple(self.rules), vocabulary=self.vocabulary, origin=origin,
                          version=self.digest.hexdigest()[:12], _by_key=by_key)
        return ruleset, []


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else None
