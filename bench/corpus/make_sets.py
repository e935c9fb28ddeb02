#!/usr/bin/env python3
"""make_sets.py GOOD_LIST SMALL_DIR LARGE_DIR SIZE: SIZE rules into LARGE_DIR (the loadable ones,
then copies of them with their own rule_id and their query's quoted constants suffixed, so that
copies are distinct rules of the same shape), and the first 100 of those into SMALL_DIR."""
import os, re, shutil, sys

good = [l.strip() for l in open(sys.argv[1]) if l.strip()]
small, large, size = sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(small)
os.makedirs(large)


def mutate(query, k):
    def sub(m):
        if re.search(r"inList\([^()]*,\s*$", query[: m.start()]):
            return m.group(0)  # a list name
        if re.fullmatch(r"[0-9a-fA-F:.]+(/[0-9]+)?", m.group(1)):
            return m.group(0)  # an address or range must stay one
        return '"%s%d"' % (m.group(1), k)

    return re.sub(r'"([^"\\\n]+)"', sub, query)


def copy_of(text, k):
    text = re.sub(r'^rule_id = "([^"]*)"', lambda m: 'rule_id = "%s-copy%d"' % (m.group(1), k),
                  text, flags=re.M)
    m = re.search(r"^query = '''(.*?)'''", text, flags=re.M | re.S) or re.search(
        r'^query = """(.*?)"""', text, flags=re.M | re.S)
    if not m:
        return text
    return text[: m.start(1)] + mutate(m.group(1), k) + text[m.end(1):]


for n in range(size):
    f = good[n % len(good)]
    k = n // len(good)
    text = open(f).read()
    text = text if k == 0 else copy_of(text, k)
    for d in [large] + ([small] if n < 100 else []):
        with open(os.path.join(d, "%05d.toml" % n), "w") as out:
            out.write(text)
