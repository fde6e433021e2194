"""The project's docstring convention (Google style) for every public function and class.

Every function or class named in the `__all__` of rmt_alpha and of its subpackages, and every public method such a
class defines, has a one-line summary; when it takes parameters, its `Args:` section (for a class also
`Attributes:`) names each parameter at the start of its own line (`name: ...` or `name (type): ...`), and no line
of that section starts two parameters (`X, y: ...`, `alpha: ... gamma: ...`).
"""

import importlib
import inspect
import re

import pytest

PACKAGES = ("rmt_alpha", "rmt_alpha.data", "rmt_alpha.experiments", "rmt_alpha.linear", "rmt_alpha.nn",
            "rmt_alpha.plots", "rmt_alpha.simulate", "rmt_alpha.sklearn")

_SECTIONS = ("Args:", "Attributes:")
_HEADER = re.compile(r"^(\s*)([*\w][\w, *]*?)\s*(\([^)]*\))?:(\s|$)")


def _public_objects():
    """(qualified name, object) for each function and class in the packages' `__all__`, and their public methods."""
    seen = set()
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for name in package.__all__:
            obj = getattr(package, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{package_name}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    function = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    if not attr.startswith("_") and inspect.isfunction(function):
                        yield f"{package_name}.{name}.{attr}", function


def _parameters(obj):
    """The names a docstring must list: the signature's parameters, less `self` and `cls`."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    names = [parameter.name for parameter in signature.parameters.values()]
    if inspect.isfunction(obj) and names and names[0] in ("self", "cls") and "." in obj.__qualname__:
        names = names[1:]
    return names


def _section(doc: str, headers) -> list[str]:
    """The lines of the first section whose header is one of `headers`, up to the next line indented as the header."""
    lines = doc.splitlines()
    for start, line in enumerate(lines):
        if line.strip() in headers:
            indent = len(line) - len(line.lstrip())
            block = []
            for body in lines[start + 1:]:
                if body.strip() and len(body) - len(body.lstrip()) <= indent:
                    break
                block.append(body)
            return block
    return []


def convention_problems(obj) -> list[str]:
    """What the docstring of `obj` misses of the convention (empty when it follows it).

    Args:
        obj: a function or a class.

    Returns:
        list of str: one message per problem.
    """
    doc = inspect.getdoc(obj) if obj.__doc__ else None
    if not doc or not doc.splitlines()[0].strip():
        return ["no one-line summary"]
    parameters = _parameters(obj)
    if not parameters:
        return []
    headers = _SECTIONS if inspect.isclass(obj) else _SECTIONS[:1]
    block = _section(doc, headers)
    if not block:
        return [f"parameters {parameters} but no {' or '.join(headers)} section"]
    entry_indent = min(len(line) - len(line.lstrip()) for line in block if line.strip())
    problems, named = [], set()
    for line in block:
        if not line.strip():
            continue
        match = _HEADER.match(line)
        starts = []
        if match and len(match.group(1)) == entry_indent:
            starts = [name.strip().lstrip("*") for name in match.group(2).split(",")]
            named.update(starts)
            if len(starts) > 1:
                problems.append(f"one line starts several parameters: {line.strip()!r}")
        later = [name for name in parameters if name not in starts[:1]
                 and re.search(rf"(^|[\s.;]){re.escape(name)}( \([^)]*\))?:(\s|$)", line)]
        if later and (starts or len(later) > 1):
            problems.append(f"one line starts several parameters: {line.strip()!r}")
    missing = [name for name in parameters if name not in named]
    if missing:
        problems.append(f"parameters not named at the start of their own line: {missing}")
    return problems


_CASES = list(_public_objects())


def _follows(x, y, *, gamma=1.0):
    """Summary.

    Args:
        x: (n, p) features.
        y (np.ndarray): (n,) labels,
            continued on a second line.
        gamma: ridge strength.
    """


def _shares_a_line(x, y, *, gamma=1.0):
    """Summary.

    Args:
        x, y: features and labels.
        gamma: ridge strength.
    """


def _two_on_one_line(x, y, *, gamma=1.0):
    """Summary.

    Args:
        x: features. y: labels.
        gamma: ridge strength.
    """


def _misses_keyword_only(x, y, *, gamma=1.0):
    """Summary.

    Args:
        x: features.
        y: labels.
    """


def _no_args_section(x):
    """Summary; x is described in prose only."""


def test_checker_accepts_the_convention_and_flags_each_breach():
    """The checker itself: one docstring that follows the convention, and one per kind of breach."""
    assert convention_problems(_follows) == []
    assert any("several parameters" in problem for problem in convention_problems(_shares_a_line))
    assert any("several parameters" in problem for problem in convention_problems(_two_on_one_line))
    assert convention_problems(_misses_keyword_only) == [
        "parameters not named at the start of their own line: ['gamma']"]
    assert convention_problems(_no_args_section) == ["parameters ['x'] but no Args: section"]


@pytest.mark.parametrize("name, obj", _CASES, ids=[name for name, _ in _CASES])
def test_docstring_convention(name, obj):
    problems = convention_problems(obj)
    assert not problems, f"{name} ({inspect.getsourcefile(obj)}): " + "; ".join(problems)
