"""Domain errors carry a message id (the Vietnamese template, marked N_) and its parameters.

str(error) is the finished Vietnamese sentence; the views translate the id (docs/i18n.md).
The last tests read shared/'s raise sites so that a placeholder without its value, or a
message nobody marked for translation, fails here rather than on a meeting day.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared import booths, json_input, paper, staff_auth, tally
from shared import election as elections
from shared.errors import N_, DomainError, InvalidInput, Label, TokenAlreadySpent
from tests.factories import election_spec

SHARED = Path(__file__).resolve().parent.parent / "shared"
PLACEHOLDER_VALUE = "7"


def test_a_parametrised_error_reads_as_the_vietnamese_sentence() -> None:
    spec = election_spec(members=3, threshold=9)
    with pytest.raises(InvalidInput) as caught:
        elections.validate_spec(spec)
    err = caught.value
    assert err.message_id == "Số mảnh khóa cần để mở (k) phải từ 1 đến %(count)s (số thành viên)."
    assert err.params == {"count": 3}
    assert str(err) == "Số mảnh khóa cần để mở (k) phải từ 1 đến 3 (số thành viên)."


def test_without_a_message_id_the_class_message_is_the_id() -> None:
    err = TokenAlreadySpent()
    assert err.message_id == TokenAlreadySpent.message and err.params == {}
    assert str(err) == "Phiếu này đã được sử dụng. Mỗi phiếu chỉ dùng một lần."
    # Without parameters the id is not %-formatted: a literal % stays as it is.
    assert str(InvalidInput(N_("Trên 50% phiếu."))) == "Trên 50% phiếu."
    assert N_("Thiếu “%(label)s”.") == "Thiếu “%(label)s”."


def test_a_label_is_a_plain_string_that_keeps_its_id() -> None:
    label = Label(N_("Họ và tên (người thứ %(number)s)"), number=3)
    assert label == "Họ và tên (người thứ 3)"
    assert (label.message_id, label.params) == ("Họ và tên (người thứ %(number)s)", {"number": 3})
    err = InvalidInput(N_("Thiếu “%(label)s”."), label=label)
    assert str(err) == "Thiếu “Họ và tên (người thứ 3)”."


# --- every raise site in shared/ ----------------------------------------------------------

def _n_template(node: ast.expr) -> str | None:
    """The literal of an N_("...") call, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant)):
        return str(node.args[0].value)
    return None


def _module_templates(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Module-level NAME = N_("...") constants of shared/ (a message id kept in a name)."""
    found: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                template = _n_template(node.value)
                if template is not None:
                    found[node.targets[0].id] = template
    return found


def _error_classes(trees: dict[Path, ast.Module]) -> set[str]:
    bases = {node.name: {b.id for b in node.bases if isinstance(b, ast.Name)}
             for tree in trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    found = {"DomainError"}
    while grown := {name for name, parents in bases.items() if parents & found} - found:
        found |= grown
    return found


def _sites() -> tuple[list[tuple[str, str, set[str] | None]], list[str]]:
    """(place, template, keyword names or None after **) for every call given an N_ message id,
    and the places where an error class is given an unmarked literal."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(SHARED.glob("*.py"))}
    named, classes = _module_templates(trees), _error_classes(trees)
    sites: list[tuple[str, str, set[str] | None]] = []
    unmarked: list[str] = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            place = f"{path.name}:{node.lineno}"
            first = node.args[0]
            options = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            templates = [_n_template(o) or (named.get(o.id) if isinstance(o, ast.Name) else None) for o in options]
            keywords = None if any(k.arg is None for k in node.keywords) else {str(k.arg) for k in node.keywords}
            sites += [(place, t, keywords) for t in templates if t is not None]
            if isinstance(node.func, ast.Name) and node.func.id in classes and isinstance(first, (ast.Constant,
                                                                                                  ast.JoinedStr)):
                unmarked.append(place)
    return sites, unmarked


def test_every_raise_site_gives_exactly_the_parameters_its_message_names() -> None:
    sites, _ = _sites()
    assert len(sites) > 150  # the scan sees shared/'s raise sites
    for place, template, keywords in sites:
        if not keywords and "%(" not in template:
            continue  # raised without parameters: the id is not %-formatted, a literal % is fine
        try:
            names = set(_names(template))
        except (KeyError, ValueError, TypeError) as exc:  # pragma: no cover - the assertion message
            raise AssertionError(f"{place}: {template!r} is not a valid %-template ({exc})") from exc
        if keywords is None:  # **params handed on from another error: checked at its own site
            continue
        assert names == keywords, f"{place}: {template!r} names {sorted(names)}, given {sorted(keywords)}"


def _names(template: str) -> list[str]:
    """The %(name)s placeholders of a template; formatting with them must succeed."""
    seen: list[str] = []

    class Recorder(dict[str, object]):
        def __missing__(self, key: str) -> object:
            seen.append(key)
            return PLACEHOLDER_VALUE

    template % Recorder()
    return seen


def test_every_error_message_in_shared_is_marked_for_translation() -> None:
    _, unmarked = _sites()
    assert not unmarked, f"give these a N_(...) message id: {unmarked}"


def classes(cls: type[DomainError]) -> list[type[DomainError]]:
    return [cls] + [c for sub in cls.__subclasses__() for c in classes(sub)]


def test_a_class_message_needs_no_parameters() -> None:
    """A class's message is raised without parameters: it names none (every module defining one is loaded)."""
    assert {booths.BoothWaiting, json_input.JsonRefused, paper.WrongPin, staff_auth.LoginThrottled,
            tally.TallyFailed} <= set(classes(DomainError))
    for cls in classes(DomainError):
        assert "%(" not in cls.message, cls
