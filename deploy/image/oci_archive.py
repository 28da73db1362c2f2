#!/usr/bin/env python3
"""Wraps one uncompressed layer tar into an image archive that is at the same time an OCI
image layout (oci-layout, index.json, blobs/sha256/...) and a docker-archive (manifest.json
naming the same blobs), so that `podman load`, `docker load` and `ctr images import` all
accept it. Deterministic: every document is serialised with sorted keys, the image's creation
time is the given epoch, and the archive's entries are sorted, owned by 0:0, with that mtime.
Prints the layer, config (the image id) and manifest digests."""

import argparse
import hashlib
import io
import json
import os
import tarfile
import time

LAYER_MEDIA = "application/vnd.oci.image.layer.v1.tar"
CONFIG_MEDIA = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA = "application/vnd.oci.image.index.v1+json"


def canonical(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def full_reference(tag):
    """The name containerd gives a short docker reference (polyarch:local ->
    docker.io/library/polyarch:local), which is what the kubelet looks up."""
    name, _, version = tag.rpartition(":") if ":" in tag.split("/")[-1] else (tag, "", "latest")
    first = name.split("/")[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    return name + ":" + version


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--layer", required=True, help="uncompressed layer tar")
    p.add_argument("--out", required=True, help="archive to write")
    p.add_argument("--tag", required=True, help="e.g. polyarch:local")
    p.add_argument("--arch", required=True, help="Debian/OCI architecture, e.g. amd64")
    p.add_argument("--epoch", type=int, required=True, help="SOURCE_DATE_EPOCH")
    p.add_argument("--cmd", action="append", default=[], help="default command, repeatable")
    a = p.parse_args()

    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(a.epoch))
    layer_digest = file_digest(a.layer)
    layer_size = os.path.getsize(a.layer)
    config = {
        "architecture": a.arch,
        "os": "linux",
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": a.cmd or ["/usr/local/bin/polyarch", "--help"],
            "WorkingDir": "/",
            "Labels": {"org.opencontainers.image.title": "polyarch"},
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": created, "created_by": "deploy/image/build.sh"}],
    }
    config_bytes = canonical(config)
    config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA,
        "config": {"mediaType": CONFIG_MEDIA, "digest": config_digest, "size": len(config_bytes)},
        "layers": [{"mediaType": LAYER_MEDIA, "digest": layer_digest, "size": layer_size}],
    }
    manifest_bytes = canonical(manifest)
    manifest_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    ref = full_reference(a.tag)
    index = {
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA,
            "digest": manifest_digest,
            "size": len(manifest_bytes),
            "platform": {"architecture": a.arch, "os": "linux"},
            "annotations": {
                "io.containerd.image.name": ref,
                "org.opencontainers.image.ref.name": ref.rpartition(":")[2],
            },
        }],
    }

    def blob(digest):
        return "blobs/sha256/" + digest.split(":", 1)[1]

    docker_manifest = [{
        "Config": blob(config_digest),
        "RepoTags": [a.tag],
        "Layers": [blob(layer_digest)],
    }]
    # name -> bytes, or None for a directory; the layer is streamed from its file.
    entries = {
        "blobs": None,
        "blobs/sha256": None,
        blob(config_digest): config_bytes,
        blob(manifest_digest): manifest_bytes,
        blob(layer_digest): a.layer,
        "index.json": canonical(index),
        "manifest.json": canonical(docker_manifest),
        "oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
    }

    def info(name, size, directory=False):
        ti = tarfile.TarInfo(name)
        ti.mtime = a.epoch
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        ti.mode = 0o755 if directory else 0o644
        ti.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
        ti.size = 0 if directory else size
        return ti

    with tarfile.open(a.out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            content = entries[name]
            if content is None:
                tar.addfile(info(name, 0, directory=True))
            elif isinstance(content, bytes):
                tar.addfile(info(name, len(content)), io.BytesIO(content))
            else:
                with open(content, "rb") as f:
                    tar.addfile(info(name, layer_size), f)
    print("layer %s (%d bytes), image id %s, manifest %s, reference %s"
          % (layer_digest, layer_size, config_digest, manifest_digest, ref))


if __name__ == "__main__":
    main()
