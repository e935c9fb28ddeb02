#!/usr/bin/env python3
"""Converts a Zeek TSV log (plain or .gz) to Zeek JSON lines as Zeek's JSON writer prints them
(dotted keys, typed values, unset fields left out), with or without the `_path` field:
  zeek_tsv2json.py TSV [--path]"""
import gzip, json, sys
src = sys.argv[1]
with_path = "--path" in sys.argv[2:]
opener = gzip.open if src.endswith(".gz") else open
fields, types, path = [], [], None
with opener(src, "rt") as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith("#fields\t"):
            fields = line.split("\t")[1:]
        elif line.startswith("#types\t"):
            types = line.split("\t")[1:]
        elif line.startswith("#path\t"):
            path = line.split("\t")[1]
        elif line.startswith("#") or not line:
            continue
        else:
            rec = {"_path": path} if with_path else {}
            for k, t, v in zip(fields, types, line.split("\t")):
                if v == "-":
                    continue
                if t in ("time", "double", "interval"):
                    rec[k] = float(v)
                elif t in ("count", "int", "port"):
                    rec[k] = int(v)
                elif t == "bool":
                    rec[k] = v == "T"
                elif t.startswith(("set", "vector")):
                    rec[k] = [] if v == "(empty)" else v.split(",")
                else:
                    rec[k] = v
            print(json.dumps(rec, separators=(",", ":")))
