#!/usr/bin/env python3
"""Builds the word lists of src/deid/freetext/data/ from two PyPI packages (see PROVENANCE.md
there). Run from the repository root, with the packages unpacked:

    pip download names==0.3.0 --no-deps --no-binary :all: -d /tmp/p && tar xzf /tmp/p/names-0.3.0.tar.gz -C /tmp/p
    pip install --target /tmp/py pydicom==3.0.2
    apt-get install wamerican-small
    PYTHONPATH=/tmp/py python3 scripts/build-freetext-data.py /tmp/p/names-0.3.0/names

The output is sorted and deterministic.
"""
import collections
import re
import sys

from pydicom import datadict
from pydicom.sr._concepts_dict import concepts

NAMES = sys.argv[1]
# Debian wamerican-small (SCOWL size 35): its lower-case entries are common English words.
ENGLISH = {l.strip().upper() for l in open("/usr/share/dict/american-english-small") if l.strip().islower() and "'" not in l}
TOP_SURNAMES = 1000        # a name this common stays a name even where it is an English word
TOP_FIRSTS = 200
OUT = "src/deid/freetext/data/"
SURNAMES_KEPT = 20000      # ranks 1..20000 of dist.all.last (about 78% of the population)
UNSEEN_FROM = 40001        # ranks from here on are never shipped: the evaluation's unseen names
STRONG_MEANINGS = 5        # a word in this many PS3.16 code meanings is clinical, even if a name
STRONG_ATTRIBUTES = 2      # or in this many DICOM attribute names

def words(text):
    return {w.upper() for w in re.findall(r"[A-Za-z]+", text)}

meanings = collections.Counter()
for scheme in concepts.values():
    for by_keyword in scheme.values():
        for meaning, _cids in by_keyword.values():
            meanings.update(words(meaning))
attributes = collections.Counter()
for entry in datadict.DicomDictionary.values():
    attributes.update(words(entry[2]))
hand = {w.upper() for l in open(OUT + "radiology-terms.txt") if not l.startswith("#") for w in l.split()}

clinical = set(meanings) | set(attributes) | hand
strong = {w for w in clinical if meanings[w] >= STRONG_MEANINGS or attributes[w] >= STRONG_ATTRIBUTES or w in hand}

def census(path):
    return [line.split()[0] for line in open(path) if line.strip()]

surnames = census(NAMES + "/dist.all.last")
firsts = census(NAMES + "/dist.male.first") + census(NAMES + "/dist.female.first")

top = set(surnames[:TOP_SURNAMES]) | set(census(NAMES + "/dist.male.first")[:TOP_FIRSTS]) | set(census(NAMES + "/dist.female.first")[:TOP_FIRSTS])

def keep(name):
    return len(name) >= 2 and name not in strong and (name not in ENGLISH or name in top)

with open(OUT + "surnames.txt", "w") as f:
    f.writelines(n + "\n" for n in sorted({n for n in surnames[:SURNAMES_KEPT] if keep(n)}))
with open(OUT + "first-names.txt", "w") as f:
    f.writelines(n + "\n" for n in sorted({n for n in firsts if keep(n)}))
all_names = {n for n in set(surnames) | set(firsts) if n not in ENGLISH or n in top}
with open(OUT + "clinical-words.txt", "w") as f:
    f.writelines(w + "\n" for w in sorted(w for w in clinical if len(w) >= 2 and (w in strong or w not in all_names)))
# Every 16th surname of ranks 40001.. for the evaluation: names the recogniser never saw.
with open("testdata/freetext/unseen-surnames.txt", "w") as f:
    f.writelines(n + "\n" for n in surnames[UNSEEN_FROM - 1::16] if n not in clinical and n not in set(firsts))
