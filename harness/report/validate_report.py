#!/usr/bin/env python3
"""Validates polyarch report files with independent parsers (ctest: report_*).

  validate_report.py json  SCHEMA REPORT.json...   JSON Schema validation
  validate_report.py junit XSD JUNIT.xml...        XML parse + XSD validation + count checks
  validate_report.py utf8  FILE...                 strict UTF-8, no NUL
  validate_report.py html  REPORT.html...          parses; loads nothing from anywhere

Every check that accepts a file also feeds the validator a few broken copies and fails when
one is accepted: a schema or XSD that accepts anything would otherwise pass forever.
Exit 0 on success, 1 on a failed check, 77 (ctest's skip) when a python module is missing.
"""

import copy
import html.parser
import json
import re
import sys
import xml.etree.ElementTree as ET

SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    return 1


def check_json(schema_path, reports):
    try:
        import jsonschema
    except ImportError:
        print("SKIP: python3 module jsonschema missing (Debian: python3-jsonschema)")
        return SKIP
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)
    rc = 0
    for path in reports:
        with open(path, encoding="utf-8", errors="strict") as f:
            report = json.load(f)
        errors = sorted(validator.iter_errors(report), key=lambda e: list(e.path))
        for e in errors:
            rc = fail("%s: %s at /%s" % (path, e.message, "/".join(map(str, e.path))))
        if errors:
            continue
        print("ok: %s is valid against %s" % (path, schema_path))

        # Broken copies, each of which the schema must reject. A mutation whose target the
        # report does not have (no skipped case, no throughput section) does not apply.
        def mutate(name, f):
            bad = copy.deepcopy(report)
            try:
                f(bad)
            except (LookupError, TypeError):
                return name, None
            return name, bad

        def first_case(r, status=None):
            for c in r["cases"]:
                if status is None or c["status"] == status:
                    return c
            raise LookupError("no case with status %s" % status)

        mutations = [
            mutate("status 'maybe'", lambda r: first_case(r).update(status="maybe")),
            mutate("schema_version 2", lambda r: r.update(schema_version=2)),
            mutate("kind changed", lambda r: r.update(kind="polyarch.doctor")),
            mutate("summary.fail missing", lambda r: r["summary"].pop("fail")),
            mutate("case without id", lambda r: first_case(r).pop("id")),
            mutate("negative duration", lambda r: first_case(r).update(duration_ns=-1)),
            mutate("skip without reason", lambda r: first_case(r, "skip").update(reason="")),
            mutate("xfail without reason", lambda r: first_case(r, "xfail").update(reason="")),
            mutate("summary.xpass negative", lambda r: r["summary"].update(xpass=-1)),
            mutate("expectations section without files",
                   lambda r: r["sections"]["expectations"].pop("files")),
            mutate("unknown top-level field", lambda r: r.update(surprise=True)),
            mutate("step ok as string", lambda r: first_case(r)["steps"][0].update(ok="yes")),
            mutate("context not an object", lambda r: r.update(context=[])),
            mutate("bad started_at", lambda r: r.update(started_at="yesterday")),
            mutate("throughput row without starts_per_s",
                   lambda r: r["sections"]["throughput"][0].pop("starts_per_s")),
        ]
        applied = 0
        for name, bad in mutations:
            if bad is None:
                print("n/a: %s (nothing to mutate)" % name)
                continue
            applied += 1
            if validator.is_valid(bad):
                rc = fail("%s: the schema accepts a broken report (%s)" % (path, name))
            else:
                print("ok: rejects %s" % name)
        if applied < 8:
            rc = fail("%s: only %d broken copies could be made" % (path, applied))
    return rc


def junit_counts(root):
    """Checks that every declared count matches the testcases under it."""
    problems = []

    def count(cases):
        c = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for tc in cases:
            c["tests"] += 1
            c["failures"] += len(tc.findall("failure"))
            c["errors"] += len(tc.findall("error"))
            c["skipped"] += len(tc.findall("skipped"))
        return c

    for suite in [root] + root.findall("testsuite"):
        have = count(suite.iter("testcase"))
        for k, v in have.items():
            declared = suite.get(k)
            if declared is not None and int(declared) != v:
                problems.append("%s %r declares %s=%s but holds %d" %
                                (suite.tag, suite.get("name"), k, declared, v))
    return problems


def check_junit(xsd_path, files):
    try:
        from lxml import etree
    except ImportError:
        print("SKIP: python3 module lxml missing (Debian: python3-lxml)")
        return SKIP
    schema = etree.XMLSchema(etree.parse(xsd_path))
    rc = 0
    for path in files:
        root = ET.parse(path).getroot()  # the stdlib parser CI tools often use
        if root.tag != "testsuites":
            rc = fail("%s: root is <%s>, not <testsuites>" % (path, root.tag))
        for p in junit_counts(root):
            rc = fail("%s: %s" % (path, p))
        doc = etree.parse(path)
        if not schema.validate(doc):
            for e in schema.error_log:
                rc = fail("%s:%d: %s" % (path, e.line, e.message))
            continue
        print("ok: %s parses and is valid against %s" % (path, xsd_path))

        def mutated(xpath, f):
            d = copy.deepcopy(doc)
            f(d.xpath(xpath)[0])
            return d

        def add_child(tag):
            return lambda e: e.append(etree.Element(tag))

        mutations = [
            ("testcase without name", mutated("//testcase", lambda e: e.attrib.pop("name"))),
            ("negative time", mutated("//testcase", lambda e: e.set("time", "-1"))),
            ("tests not a number", mutated("//testsuite", lambda e: e.set("tests", "many"))),
            ("unknown element", mutated("//testcase", add_child("verdict"))),
            ("testsuite without name", mutated("//testsuite", lambda e: e.attrib.pop("name"))),
        ]
        for name, bad in mutations:
            if schema.validate(bad):
                rc = fail("%s: the XSD accepts a broken file (%s)" % (path, name))
            else:
                print("ok: rejects %s" % name)
    return rc


def check_utf8(files):
    rc = 0
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        try:
            data.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            rc = fail("%s: not valid UTF-8: %s" % (path, e))
            continue
        if b"\0" in data:
            rc = fail("%s: holds a NUL byte" % path)
            continue
        print("ok: %s is valid UTF-8" % path)
    return rc


class ExternalRefs(html.parser.HTMLParser):
    """Collects everything in a page that could make a browser fetch something.

    A URL in the page's text is not one: it loads nothing (an expectation's reference, the
    evidence of a known deviation, is often one). In markup, every attribute and the style
    sheet are searched for one."""

    URL_ATTRS = {"src", "href", "srcset", "action", "data", "poster", "background",
                 "formaction", "xlink:href", "manifest"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs = []
        self.stack = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "iframe", "object", "embed", "img", "base", "meta"):
            if tag == "meta" and all(k in ("charset", "name", "content") for k, _ in attrs):
                pass
            else:
                self.refs.append("<%s>" % tag)
        for k, v in attrs:
            if k in self.URL_ATTRS and not (v or "").startswith("#"):
                self.refs.append("%s=%r on <%s>" % (k, v, tag))
            elif re.search(r"https?://|url\s*\(", v or ""):
                self.refs.append("a URL in %s=%r on <%s>" % (k, v, tag))
        self.in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.in_style and re.search(r"url\s*\(|@import|https?://", data):
            self.refs.append("url(), @import or a URL in <style>")


def check_html(files):
    rc = 0
    for path in files:
        with open(path, encoding="utf-8", errors="strict") as f:
            text = f.read()
        if not text.startswith("<!DOCTYPE html>"):
            rc = fail("%s: no <!DOCTYPE html>" % path)
        p = ExternalRefs()
        p.feed(text)
        p.close()
        for r in p.refs:
            rc = fail("%s: external reference: %s" % (path, r))
        # The checker itself must notice a reference, or the checks above prove nothing.
        probe = ExternalRefs()
        probe.feed('<script src="x.js"></script><img src="y.png"><style>@import "z";</style>'
                   '<div style="background:url(http://x/y.png)">https://text.example</div>')
        if len(probe.refs) < 4:
            rc = fail("the external reference checker missed a planted reference")
        if rc == 0:
            print("ok: %s is self-contained" % path)
    return rc


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    mode = argv[1]
    if mode == "json" and len(argv) >= 4:
        return check_json(argv[2], argv[3:])
    if mode == "junit" and len(argv) >= 4:
        return check_junit(argv[2], argv[3:])
    if mode == "utf8":
        return check_utf8(argv[2:])
    if mode == "html":
        return check_html(argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
