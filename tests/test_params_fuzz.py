"""params.yaml fuzz: any mutation of any section is either accepted or rejected with a message
that names the offending key; nothing else ever escapes the loader."""

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from songcoder import config as c

values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                   st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
                   st.lists(st.integers(-5, 500), max_size=4), st.dictionaries(st.text(max_size=3),
                                                                               st.integers(),
                                                                               max_size=2))


@st.composite
def mutated_section(draw):
    name = draw(st.sampled_from(sorted(c.SECTIONS)))
    keys = [f.name for f in dataclasses.fields(c.SECTIONS[name])]
    raw = {}
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=len(keys))):
        raw[key] = draw(values)
    if draw(st.booleans()):
        raw[draw(st.text(min_size=1, max_size=6))] = draw(values)
    return name, raw


@settings(max_examples=400, deadline=None)
@given(mutated_section())
def test_every_mutation_is_accepted_or_names_its_key(case):
    name, raw = case
    try:
        cfg = c.build(c.SECTIONS[name], name, raw)
    except c.ConfigError as e:
        msg = str(e)
        keys = {f.name for f in dataclasses.fields(c.SECTIONS[name])} | set(map(str, raw))
        named = [k for k in keys if msg.startswith((f"{name}.{k}:", f"{name}.{k}["))]
        assert named or msg.startswith(f"{name}:"), msg
    else:
        assert isinstance(cfg, c.SECTIONS[name])
        for key, value in raw.items():
            got = getattr(cfg, key)
            assert got == value or (isinstance(value, int) and got == float(value))
