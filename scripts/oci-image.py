#!/usr/bin/env python3
"""Write the plugin image as a standard OCI image layout, without Docker.

    scripts/oci-image.py WASM OUT_DIR [TAG]

OUT_DIR/jwe-authn/ becomes an OCI image layout (oci-layout, index.json,
blobs/sha256/...) holding one image: a single gzip layer with plugin.wasm at
its root (what `docker build` makes of ./Dockerfile, and what Istio's
WasmPlugin expects), and OUT_DIR/jwe-authn.tar the same layout as a tarball.
Push either with, e.g.:
    skopeo copy oci:OUT_DIR/jwe-authn:TAG docker://registry.example.com/jwe-authn:TAG
    oras cp --from-oci-layout OUT_DIR/jwe-authn:TAG registry.example.com/jwe-authn:TAG
Everything is deterministic (fixed timestamps and owners), so the same .wasm
always gives the same digests.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile


def blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    wasm_path, out = sys.argv[1], sys.argv[2]
    tag = sys.argv[3] if len(sys.argv) == 4 else "latest"
    wasm = open(wasm_path, "rb").read()
    layout = os.path.join(out, "jwe-authn")
    shutil.rmtree(layout, ignore_errors=True)  # no stale blobs from an older build
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("plugin.wasm")
        info.size, info.mode, info.mtime = len(wasm), 0o644, 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(wasm))
    layer_tar = tar_bytes.getvalue()
    layer_gz = gzip.compress(layer_tar, mtime=0)

    layer = blob(layout, layer_gz)
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    config = blob(layout, json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer_tar).hexdigest()]},
    }, sort_keys=True).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = blob(layout, json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": [layer],
        "annotations": {"org.opencontainers.image.title": "jwe-authn"},
    }, sort_keys=True).encode())
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    manifest["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [manifest]}, f, sort_keys=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    with tarfile.open(os.path.join(out, "jwe-authn.tar"), "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(["oci-layout", "index.json"] + [f"blobs/sha256/{d}" for d in os.listdir(os.path.join(layout, "blobs", "sha256"))]):
            info = tar.gettarinfo(os.path.join(layout, name), arcname=name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(os.path.join(layout, name), "rb") as f:
                tar.addfile(info, f)
    print(f"{layout} ({tag}) and {out}/jwe-authn.tar: manifest {manifest['digest']}")


if __name__ == "__main__":
    main()
