#!/usr/bin/env python3
"""Validates Kubernetes manifests offline against the Kubernetes API schema.

The schema comes from Debian's python3-kubernetes package (the Kubernetes API client,
generated from the Kubernetes OpenAPI specification; 22.6.0 is Kubernetes 1.22), which
ci/setup.sh unpacks into $POLYARCH_CACHE/k8s-api/ without installing it. Every model class
there states each field's JSON name (attribute_map), its type (openapi_types) and, in its
setter, whether it is required. They are read with `ast` (nothing of the package is imported
or executed) and turned into one JSON Schema (draft 7) with a definition per model. Like
`kubectl apply --validate=strict`, a field the API does not know is an error. A document's
apiVersion must be one the API serves its kind under (from the client's API classes).

Besides the schema, the deployment's own contract is checked (--contract): namespace
polyarch, image polyarch:local never pulled, the node name from the downward API, the
report directory named by node and run id, the Indexed Job's shard flag, tolerations of
every taint, and a comment on every line that grants host access.

  validate_manifests.py [--models DIR] FILE...       exit 0 valid, 1 invalid, 3 no schema
  validate_manifests.py [--models DIR] --self-test DEPLOY_DIR
      validates every manifest in DEPLOY_DIR (with the contract checks), then broken copies
      of them in a temporary directory, each of which must be rejected for the right reason.
"""

import argparse
import ast
import copy
import glob
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

MODELS_VERSION = "22.6.0-2"
DEFAULT_CLIENT = os.path.join(
    os.environ.get("POLYARCH_CACHE", "/var/cache/polyarch"), "k8s-api",
    "python3-kubernetes_" + MODELS_VERSION, "usr/lib/python3/dist-packages/kubernetes/client")

PRIMITIVES = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "datetime": {"type": "string"},
    "date": {"type": "string"},
    # IntOrString, RawExtension and the like: any JSON value.
    "object": {},
}


def type_schema(t):
    t = t.strip()
    if t in PRIMITIVES:
        return dict(PRIMITIVES[t])
    m = re.fullmatch(r"list\[(.+)\]", t)
    if m:
        return {"type": "array", "items": type_schema(m.group(1))}
    m = re.fullmatch(r"dict\(str, *(.+)\)", t)
    if m:
        return {"type": "object", "additionalProperties": type_schema(m.group(1))}
    return {"$ref": "#/definitions/" + t}


def literal_dict(node):
    return {k.value: v.value for k, v in zip(node.keys, node.values)}


def read_model(path):
    """(class name, definition) of one generated model file."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        types, names, required = None, None, []
        for item in cls.body:
            if isinstance(item, ast.Assign) and isinstance(item.value, ast.Dict):
                target = item.targets[0].id if isinstance(item.targets[0], ast.Name) else ""
                if target == "openapi_types":
                    types = literal_dict(item.value)
                elif target == "attribute_map":
                    names = literal_dict(item.value)
            elif isinstance(item, ast.FunctionDef) and any(
                    isinstance(d, ast.Attribute) and d.attr == "setter"
                    for d in item.decorator_list):
                for node in ast.walk(item):
                    if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                            and "must not be `None`" in node.value):
                        required.append(item.name)
                        break
        if types is None or names is None:
            continue
        definition = {
            "type": "object",
            "properties": {names[a]: type_schema(t) for a, t in types.items()},
            "additionalProperties": False,
        }
        if required:
            definition["required"] = sorted(names[a] for a in set(required))
        return cls.name, definition
    return None, None


def load_api(client_dir):
    """The JSON Schema of every model, and for each model the API groups that serve it."""
    models = sorted(glob.glob(os.path.join(client_dir, "models", "v*.py")))
    if not models:
        raise FileNotFoundError(
            "no Kubernetes API models under %s (ci/setup.sh unpacks python3-kubernetes %s there)"
            % (client_dir, MODELS_VERSION))
    definitions = {}
    for path in models:
        name, definition = read_model(path)
        if name:
            definitions[name] = definition
    groups = {}
    for path in glob.glob(os.path.join(client_dir, "api", "*_api.py")):
        group_version = os.path.basename(path)[:-len("_api.py")]
        for cls in set(re.findall(r"response_type='(V\w+)'", open(path, encoding="utf-8").read())):
            groups.setdefault(cls, set()).add(group_version)
    return definitions, groups


def api_file_prefix(api_version):
    """apps/v1 -> apps_v1, v1 -> core_v1, rbac.authorization.k8s.io/v1 -> rbac_authorization_v1."""
    group, _, version = api_version.rpartition("/")
    group = group[:-len(".k8s.io")] if group.endswith(".k8s.io") else group
    return "%s_%s" % (group.replace(".", "_").replace("-", "_") or "core", version)


class Validator:
    def __init__(self, client_dir):
        self.definitions, self.groups = load_api(client_dir)

    def errors(self, doc):
        if not isinstance(doc, dict):
            return ["a document is not a mapping"]
        api_version, kind = doc.get("apiVersion"), doc.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return ["apiVersion and kind must be strings"]
        version = api_version.rpartition("/")[2]
        cls = version[:1].upper() + version[1:] + kind
        if cls not in self.definitions:
            return ["unknown kind %s in %s" % (kind, api_version)]
        if api_file_prefix(api_version) not in self.groups.get(cls, set()):
            return ["%s is not served under apiVersion %s (served by: %s)" % (
                kind, api_version, ", ".join(sorted(self.groups.get(cls, []))) or "none")]
        schema = {"$ref": "#/definitions/" + cls, "definitions": self.definitions}
        v = jsonschema.Draft7Validator(schema)
        return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)", e.message)
                for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.path)))]


# ---- the deployment's contract -------------------------------------------------------------

HOST_ACCESS_KEYS = ("hostNetwork", "hostPID", "hostIPC", "privileged", "hostPath",
                    "mountPropagation", "allowPrivilegeEscalation")


def uncommented_host_access(text):
    """Lines granting host access with no comment on them or directly above them."""
    bad = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        key = stripped.lstrip("- ").split(":", 1)[0]
        if key not in HOST_ACCESS_KEYS:
            continue
        if "#" in line:
            continue
        # The comment may also stand above the list item the line opens the body of
        # ("- name: state" directly above "hostPath:").
        j = i - 1
        if j >= 0 and lines[j].strip().startswith("- ") and (
                len(lines[j]) - len(lines[j].lstrip()) < len(line) - len(line.lstrip())):
            j -= 1
        if not (j >= 0 and lines[j].strip().startswith("#")):
            bad.append("line %d: %s" % (i + 1, stripped))
    return bad


def pod_specs(doc):
    kind = doc.get("kind")
    if kind in ("DaemonSet", "Job", "Deployment", "StatefulSet"):
        return [doc["spec"]["template"]["spec"]]
    if kind == "Pod":
        return [doc["spec"]]
    return []


def contract_errors(doc, text):
    errs = ["no comment says why: " + b for b in uncommented_host_access(text)]
    kind = doc.get("kind")
    if kind != "Namespace" and doc.get("metadata", {}).get("namespace") != "polyarch":
        errs.append("%s %s is not in namespace polyarch" % (kind, doc.get("metadata", {}).get("name")))
    for spec in pod_specs(doc):
        if spec.get("automountServiceAccountToken") is not False:
            errs.append("the pod must not mount a service account token (it needs no API access)")
        tolerations = spec.get("tolerations", [])
        if kind == "DaemonSet" and {"operator": "Exists"} not in tolerations:
            errs.append("the DaemonSet must tolerate every taint (a toleration {operator: Exists})")
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            if c.get("image") != "polyarch:local" or c.get("imagePullPolicy") != "Never":
                errs.append("container %s: image must be polyarch:local with imagePullPolicy Never"
                            % c.get("name"))
            env = {e["name"]: e for e in c.get("env", [])}
            text_of = " ".join(c.get("command", []) + c.get("args", []))
            if "polyarch run" not in text_of and " run " not in " %s " % text_of:
                continue
            node = env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {})
            if node.get("fieldPath") != "spec.nodeName":
                errs.append("container %s: NODE_NAME must come from spec.nodeName" % c["name"])
            if "value" not in env.get("RUN_ID", {}):
                errs.append("container %s: RUN_ID must be set in the manifest" % c["name"])
            for needle in ("--strict", "--node", "/reports/", "NODE_NAME", "RUN_ID"):
                if needle not in text_of:
                    errs.append("container %s: the run command lacks %s" % (c["name"], needle))
            if kind == "Job":
                spec_job = doc["spec"]
                n = spec_job.get("completions")
                if spec_job.get("completionMode") != "Indexed":
                    errs.append("the Job must be Indexed")
                if not re.search(r"--shard \"?\$\(\(JOB_COMPLETION_INDEX ?\+ ?1\)\)/%s\b" % n, text_of):
                    errs.append("container %s: the run must take --shard $((JOB_COMPLETION_INDEX+1))/%s"
                                % (c["name"], n))
    return errs


def validate_file(validator, path, contract):
    text = open(path, encoding="utf-8").read()
    problems = []
    for i, doc in enumerate(yaml.safe_load_all(text)):
        if doc is None:
            continue
        where = "%s[%d] %s/%s" % (os.path.basename(path), i, doc.get("kind") if isinstance(doc, dict) else "?",
                                  (doc.get("metadata") or {}).get("name") if isinstance(doc, dict) else "?")
        errs = validator.errors(doc)
        if contract and not errs:
            errs = contract_errors(doc, text)
        problems += ["%s: %s" % (where, e) for e in errs]
    return problems


# ---- self-test -----------------------------------------------------------------------------

def run_cli(models, files, contract=False):
    cmd = [sys.executable, os.path.abspath(__file__), "--models", models] + (
        ["--contract"] if contract else []) + files
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def self_test(models, deploy_dir):
    manifests = sorted(glob.glob(os.path.join(deploy_dir, "*.yaml")))
    if len(manifests) < 3:
        print("FAIL: expected the manifests in %s, found %s" % (deploy_dir, manifests))
        return 1
    failed = 0
    rc, out = run_cli(models, manifests, contract=True)
    print(out.rstrip())
    if rc != 0:
        print("FAIL: the manifests in deploy/ do not validate")
        failed += 1
    else:
        print("ok: %d manifests validate against the Kubernetes API schema and the contract"
              % len(manifests))

    daemonset = yaml.safe_load(open(os.path.join(deploy_dir, "daemonset.yaml")))
    job = yaml.safe_load(open(os.path.join(deploy_dir, "indexed-job.yaml")))

    def broken(name, base, mutate, expect):
        doc = copy.deepcopy(base)
        mutate(doc)
        return name, doc, expect

    ds_pod = lambda d: d["spec"]["template"]["spec"]
    cases = [
        broken("wrong type: hostNetwork a string", daemonset,
               lambda d: ds_pod(d).update(hostNetwork="yes"), "is not of type 'boolean'"),
        broken("wrong type: completions a string", job,
               lambda d: d["spec"].update(completions="3"), "is not of type 'integer'"),
        broken("wrong type: tolerations a mapping", daemonset,
               lambda d: ds_pod(d).update(tolerations={"operator": "Exists"}), "is not of type 'array'"),
        broken("unknown field (a typo)", daemonset,
               lambda d: ds_pod(d).update(hostNetwrok=True), "Additional properties are not allowed"),
        broken("required field missing: container name", job,
               lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("name"),
               "'name' is a required property"),
        broken("kind under the wrong apiVersion", daemonset,
               lambda d: d.update(apiVersion="batch/v1"), "not served under apiVersion"),
    ]
    with tempfile.TemporaryDirectory(prefix="polyarch-manifests-") as tmp:
        for name, doc, expect in cases:
            path = os.path.join(tmp, re.sub(r"\W+", "-", name) + ".yaml")
            with open(path, "w") as f:
                yaml.safe_dump(doc, f, sort_keys=False)
            rc, out = run_cli(models, [path])
            if rc == 1 and expect in out:
                print("ok: rejected (%s): %s" % (name, out.strip().splitlines()[0]))
            else:
                print("FAIL: a broken copy was not rejected as expected (%s): exit %d, output: %s"
                      % (name, rc, out.strip()))
                failed += 1
        # The contract: a host-access line whose comment was removed is refused.
        text = open(os.path.join(deploy_dir, "daemonset.yaml")).read()
        lines = text.splitlines()
        idx = next(i for i, l in enumerate(lines) if l.strip().startswith("hostNetwork:"))
        lines[idx] = lines[idx].split("#")[0].rstrip()
        while lines[idx - 1].strip().startswith("#"):
            del lines[idx - 1]
            idx -= 1
        path = os.path.join(tmp, "uncommented.yaml")
        open(path, "w").write("\n".join(lines) + "\n")
        rc, out = run_cli(models, [path], contract=True)
        if rc == 1 and "no comment says why" in out:
            print("ok: rejected (host access without a comment): %s" % out.strip().splitlines()[0])
        else:
            print("FAIL: an uncommented hostNetwork line was not rejected: exit %d, %s" % (rc, out))
            failed += 1
    print("%d passed, %d failed" % (len(cases) + 2 - failed, failed))
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=DEFAULT_CLIENT, help="the kubernetes/client directory")
    p.add_argument("--contract", action="store_true", help="also check the deployment's contract")
    p.add_argument("--self-test", metavar="DEPLOY_DIR")
    p.add_argument("files", nargs="*")
    a = p.parse_args()
    try:
        validator = Validator(a.models)
    except FileNotFoundError as e:
        print("validate_manifests: %s" % e, file=sys.stderr)
        return 3
    if a.self_test:
        return self_test(a.models, a.self_test)
    problems = []
    for f in a.files:
        problems += validate_file(validator, f, a.contract)
    for pr in problems:
        print(pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
