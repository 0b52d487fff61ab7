"""Teaching pambot a site's words from its own query log: `pambot log review`, `pambot
learn`, `pambot rules diff`.

    $ pambot log review --since 30d       # what pambot could not read, grouped, with words
    $ pambot learn pdc node:leader --dry-run   # which logged questions would read otherwise
    $ pambot learn pdc node:leader        # ...then taught: every process reads it within seconds
    $ pambot learn --list | --forget pdc | --export vocabulary.yaml | --meanings
    $ pambot rules diff ./rules-v1 ./rules-v2    # or --learned: without and with what was taught

Learning changes how words are read, never a rule: a phrase is checked as the rule files
are (a phrase that already means something else is refused in one line, exit 2), and the
merged set is proved complete again before it is used (`rules.learning`).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import socket
import sqlite3
import sys

import click
import yaml

from bot import querylog
from bot.ask import base_ruleset
from bot.config import Config
from bot.exit import Problem, UsageProblem
from bot.querylog.learned import Learned, LearnedPhrases
from bot.querylog.read import asked_questions, review_rows
from bot.querylog.report import DurationError, parse_since
from bot.querylog.state import StateStore, StateUnavailable
from bot.querylog.store import read_only
from bot.teaching import Refused, plan, review_groups
from rules import RuleFileError, RuleSet, load_ruleset
from rules.learning import Change, changes, learned_ruleset, not_in_rules, phrase_of
from rules.vocabulary import meaning_of, meanings

# How many changed answers `learn` and `rules diff` print (all of them with --json).
SHOWN_CHANGES = 20
# How many other wordings of a question `log review` prints (all of them with --json).
SHOWN_WORDINGS = 3


@click.command()
@click.argument("phrase", required=False)
@click.argument("meaning", required=False)
@click.option("--dry-run", is_flag=True, help="Show which logged questions would read "
              "otherwise; teach nothing.")
@click.option("--as", "who", help="Who teaches it (default: your user name and host).")
@click.option("--list", "show", is_flag=True, help="List the phrases taught, who and when.")
@click.option("--forget", metavar="PHRASE", help="Forget a phrase taught before.")
@click.option("--export", metavar="FILE", help="Write the vocabulary with the phrases taught "
              "as a vocabulary file (- for standard output), to keep in git.")
@click.option("--meanings", "list_meanings", is_flag=True, help="List the meanings a phrase "
              "can be given.")
@click.pass_obj
def learn(config: Config, phrase: str | None, meaning: str | None, dry_run: bool,
          who: str | None, show: bool, forget: str | None, export: str | None,
          list_meanings: bool) -> None:
    """Teach pambot that PHRASE means MEANING (node:leader, backup:vm, intent:restore, ...)."""
    if list_meanings:
        click.echo("\n".join(meanings(base_ruleset(config).vocabulary)))
    elif show:
        _list(config)
    elif forget:
        _forget(config, forget)
    elif export:
        _export(config, export)
    elif phrase and meaning:
        _learn(config, phrase, meaning, dry_run=dry_run, who=who or _me())
    else:
        raise UsageProblem("give a PHRASE and its MEANING (pambot learn pdc node:leader), "
                           "or --list, --forget PHRASE, --export FILE or --meanings.")


def _learn(config: Config, said: str, meaning: str, *, dry_run: bool, who: str) -> None:
    base = base_ruleset(config)
    taught = {p.phrase: p for p in _taught(config)}
    try:
        change = plan(base, taught, said, meaning)
    except Refused as exc:
        raise UsageProblem(str(exc)) from None
    phrase = phrase_of(said)
    if phrase != " ".join(said.casefold().split()):
        click.echo(f"(read as {phrase!r}: words as pambot reads them)")
    if re.search(r"[a-z]-?[0-9]", said.casefold()):
        click.echo(f"(a numbered host name is read by its name: {said!r} teaches {phrase!r}, "
                   f"so every {phrase}-NN means the same; to tell hosts apart, name them with "
                   "letters: vault-a, vault-b)")
    if change is None:
        click.echo(f"{phrase!r} already means {meaning}: nothing to do.")
        return
    _show_changes(changes(change.before, change.after, _asked(config)), what="now read")
    if dry_run:
        click.echo("Nothing learned (--dry-run).")
        return
    if not _with_store(config, lambda lp: lp.add(phrase, change.meaning, who=who)):
        raise UsageProblem(f"cannot learn {phrase!r}: someone taught it meanwhile "
                           "(pambot learn --list)")
    click.echo(f"Learned: {phrase!r} means {change.meaning} (taught by {who}). Every "
               "running pambot reads it within seconds.")


def _list(config: Config) -> None:
    rows = _taught(config)
    if not rows:
        click.echo("No phrases taught yet (pambot learn PHRASE MEANING).")
        return
    base = base_ruleset(config)
    width = max(len(p.phrase) for p in rows)
    for p in rows:
        filed = meaning_of(base.vocabulary, p.phrase) == p.meaning
        click.echo(f"{p.phrase:<{width}}  {p.meaning:<22}  {p.who or '-'}  {p.ts}"
                   + ("  (in the rule files too: --forget it at will)" if filed else ""))


def _forget(config: Config, said: str) -> None:
    phrase = phrase_of(said)
    if not _with_store(config, lambda learned: learned.forget(phrase)):
        raise UsageProblem(f"{phrase!r} was not taught: nothing to forget (pambot learn "
                           "--list).")
    still = meaning_of(base_ruleset(config).vocabulary, phrase)
    click.echo(f"Forgot {phrase!r}. " + (
        f"The rule files still read it as {still}." if still else
        "Every running pambot stops reading it within seconds."))


def _export(config: Config, path: str) -> None:
    """The vocabulary with the phrases taught, as a file that takes the place of
    vocabulary.yaml in a rule directory (`pambot rules init`, then PAMBOT_RULES)."""
    taught = _taught_meanings(config)
    base = base_ruleset(config)
    ruleset = _merged(base, taught)
    added = len(not_in_rules(base, taught.items()))
    text = ("# The vocabulary of " + ruleset.origin + ", written by `pambot learn --export`.\n"
            "# It takes the place of vocabulary.yaml in a rule directory: `pambot rules init "
            "DIR`,\n# then this file as DIR/vocabulary.yaml, `pambot rules check DIR` and "
            "PAMBOT_RULES=DIR.\n"
            + yaml.safe_dump({"vocabulary": _plain(ruleset.vocabulary.source)},
                             sort_keys=False, allow_unicode=True, width=100))
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        with open(path, "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise Problem(f"{path} exists already: pambot never writes over a file.") from None
    except OSError as exc:
        raise Problem(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"Wrote the vocabulary of {base.origin} with {added} phrase(s) taught to {path}"
               + (f" ({len(taught) - added} were in it already)." if added < len(taught)
                  else "."))


@click.command()
@click.option("--since", default="30d", show_default=True,
              help="A duration (30m, 24h, 7d, 4w) or an ISO date.")
@click.option("--top", type=click.IntRange(1, 500), default=20, show_default=True,
              help="How many groups to show.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of groups.")
@click.pass_obj
def review(config: Config, since: str, top: int, as_json: bool) -> None:
    """What pambot could not read well, grouped, with the words it did not know."""
    start = _since(since)
    ruleset = base_ruleset(config)
    taught = _taught_meanings(config)
    rows = _log(config, lambda db: review_rows(db, querylog.utc_iso(start)),
                nothing_logged=_NO_LOG)
    if rows is _NO_LOG:
        _nothing(as_json, f"No queries logged yet at {_where(config)}: nothing to review.")
        return
    found = review_groups(rows, _merged(ruleset, taught))[:top]
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    if not found:
        click.echo(f"Nothing to review since {start:%Y-%m-%d %H:%M} UTC: pambot read every "
                   "question.")
        return
    click.echo(f"What pambot could not read well since {start:%Y-%m-%d %H:%M} UTC, most asked "
               "first:")
    for n, item in enumerate(found, 1):
        others = [querylog.printable(q["text"]) for q in item["questions"][1:]]
        click.echo(f"\n{n}. {querylog.printable(item['question'])!r}  asked {item['asked']}x, "
                   f"last {item['last_asked'][:16].replace('T', ' ')}  ("
                   + ", ".join(item["why"]) + ")")
        if others:
            click.echo("   also asked as " + ", ".join(repr(q) for q in others[:SHOWN_WORDINGS])
                       + (f" and {len(others) - SHOWN_WORDINGS} more wording(s)"
                          if len(others) > SHOWN_WORDINGS else ""))
        for w in item["unknown_words"]:
            first, *rest = w["meanings"]
            click.echo(f"   unknown word {w['word']!r} ({w['why']}):\n"
                       f"     pambot learn {_quoted(w['word'])} {first}"
                       + (f"   (or {', '.join(rest)})" if rest else ""))


@click.command()
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.option("--learned", is_flag=True, help="Compare the rules in force without and with "
              "the phrases taught.")
@click.option("--since", default=None, help="Only questions logged since (default: all).")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of the answers that change.")
@click.pass_obj
def diff(config: Config, old: str | None, new: str | None, learned: bool, since: str | None,
         as_json: bool) -> None:
    """Replay the logged questions through two rule sets (OLD and NEW: directories or files)
    and list the answers that change."""
    if learned == bool(old or new) or not learned and not (old and new):
        raise UsageProblem("give two rule directories (pambot rules diff OLD NEW), or "
                           "--learned alone.")
    if learned:
        before = base_ruleset(config)
        taught = _taught_meanings(config)
        if not taught:
            _nothing(as_json, f"No phrases taught in {_where(config)}: nothing to compare "
                     "(pambot learn PHRASE MEANING).")
            return
        after = _merged(before, taught)
        if after is before:
            _nothing(as_json, f"The {len(taught)} phrase(s) taught are all in {before.origin} "
                     "already: nothing to compare (pambot learn --list).")
            return
    else:
        before, after = _load(old), _load(new)
    start = querylog.utc_iso(_since(since)) if since else None
    asked = _log(config, lambda db: asked_questions(db, start), nothing_logged=_NO_LOG)
    if asked is _NO_LOG:
        _nothing(as_json, f"No queries logged yet at {_where(config)}: nothing to replay.")
        return
    found = changes(before, after, asked)
    if as_json:
        click.echo(json.dumps([{
            "question": c.question, "asked": c.asked,
            "before": _brief(c.before), "after": _brief(c.after)} for c in found],
            ensure_ascii=False))
        return
    click.echo(f"{len(asked)} distinct logged question(s) ({sum(asked.values())} asked) "
               f"replayed through {before.origin} and {after.origin}.")
    _show_changes(found, what="answer")


def _nothing(as_json: bool, said: str) -> None:
    """Nothing to list: an empty JSON list, or a sentence saying why."""
    click.echo("[]" if as_json else said)


def _show_changes(found: list[Change], *, what: str) -> None:
    if not found:
        click.echo(f"No logged question would {what} differently.")
        return
    asked = sum(c.asked for c in found)
    click.echo(f"{len(found)} logged question(s), asked {asked} time(s), {what} differently:")
    for c in found[:SHOWN_CHANGES]:
        click.echo(f"  {querylog.printable(c.question)!r} (asked {c.asked}x)\n"
                   f"    before: {_line(c.before)}\n    after:  {_line(c.after)}")
    if len(found) > SHOWN_CHANGES:
        click.echo(f"  ... and {len(found) - SHOWN_CHANGES} more (--json lists them all)")


def _line(result) -> str:
    read = ", ".join(f"{k}={v}" for k, v in (("node", result.node), ("backup", result.backup),
                                               ("topology", result.topology)) if v)
    return f"{result.verdict} [rule {result.rule}]" + (f" ({read})" if read else "")


def _brief(result) -> dict:
    return {key: getattr(result, key) for key in (
        "rule", "outcome", "verdict", "short_answer", "node", "backup", "topology",
        "from_version", "to_version")}


def _merged(base: RuleSet, taught: dict[str, str]) -> RuleSet:
    try:
        return learned_ruleset(base, taught.items())
    except RuleFileError as exc:
        raise Problem(f"the phrases taught do not fit the rules in force: {exc}") from None


def _load(path: str) -> RuleSet:
    try:
        return load_ruleset(path)
    except RuleFileError as exc:
        raise Problem(str(exc)) from None


def _asked(config: Config) -> dict[str, int]:
    """Each distinct logged question and how often it was asked; none without a log (a file
    that cannot be read is a Problem, not an empty log)."""
    return _log(config, lambda db: asked_questions(db, None), nothing_logged={})


_NO_LOG = object()


def _log(config: Config, read, *, nothing_logged=None):
    """`read(db)` on the query log; `nothing_logged`, if given, when there is none yet."""
    try:
        db = querylog.open_existing(config.db_path)
    except querylog.NoLog as exc:
        if nothing_logged is not None:
            return nothing_logged
        raise Problem(f"{exc}: nothing logged to review yet") from None
    except (*querylog.errors(), OSError) as exc:  # the database, not pambot
        raise Problem(f"cannot read the query log at {_where(config)}: {exc}") from None
    try:
        return read(db)
    except querylog.errors() as exc:
        raise Problem(f"cannot read the query log at {_where(config)}: {exc}") from None
    finally:
        db.close()


def _taught(config: Config) -> list[Learned]:
    """The phrases taught, oldest first; none without a file (reading never creates one)."""
    return _with_store(config, lambda learned: learned.all(), create=False)


def _taught_meanings(config: Config) -> dict[str, str]:
    """Each phrase taught and its meaning."""
    return {p.phrase: p.meaning for p in _taught(config)}


def _with_store(config: Config, use, *, create: bool = True):
    """`use(LearnedPhrases)` on the query log's file; with `create` False, an absent file
    has no phrases (reading never creates one)."""
    if not create and not querylog.is_postgres(config.db_path) \
            and not os.path.exists(config.db_path):
        return []
    store = _store(config)
    try:
        return _read(lambda: use(LearnedPhrases(store)), config)
    finally:
        store.close()


def _store(config: Config) -> StateStore:
    """The state tables in the query log's file. A file that is no SQLite database stops
    the command here in one line, untouched (the store would log a warning of its own)."""
    if not querylog.is_postgres(config.db_path) and os.path.exists(config.db_path):
        try:
            with contextlib.closing(read_only(config.db_path)) as db:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise Problem(f"cannot read the query log at {_where(config)}: {exc}") from None
    return StateStore(config.db_path, retention_days=config.log_retention_days)


def _where(config: Config) -> str:
    """PAMBOT_DB as messages show it: a PostgreSQL URL without its password."""
    return querylog.shown(config.db_path)


def _read(call, config: Config):
    try:
        return call()
    except StateUnavailable as exc:
        raise Problem(f"cannot use the learned phrases in {_where(config)}: {exc}") from None


def _since(text: str):
    try:
        return parse_since(text)
    except DurationError as exc:
        raise UsageProblem(f"--since: {exc}") from None


def _quoted(phrase: str) -> str:
    """`phrase` as typed on a shell's command line."""
    import shlex

    return shlex.quote(phrase)


def _me() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # no user name in a container: still taught, by nobody named
        return "unknown"


def _plain(value):
    """Plain dicts and lists, for yaml.safe_dump."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
