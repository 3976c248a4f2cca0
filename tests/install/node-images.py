#!/usr/bin/env python3
"""tests/install/node-images.py OUTDIR -- the node test's two small images.

No image registry is reachable here, so the images a node needs besides
Kestrel's are made from local files, as docker-archive tarballs that
`ctr -n k8s.io images import` reads:

  OUTDIR/pause.tar  registry.k8s.io/pause:3.6, containerd 1.6's default
                    sandbox image: tests/install/pause.c, built static
  OUTDIR/shell.tar  localhost/shell:1, the workload: busybox (static) with
                    sh, cat, sleep and an /etc/shadow to read

Each is one layer; the archive is written by hand (manifest.json, the
image config, the layer tar) so no image store is touched.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def add_file(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar, name, mode=0o755):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def add_link(tar, name, target):
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def archive(out, ref, layer, config):
    """Writes a docker-archive with one layer (bytes of a tar)."""
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = dict(config)
    config.update({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": "tests/install/node-images.py"}],
    })
    cfg = json.dumps(config, sort_keys=True).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    layer_name = diff_id[7:] + "/layer.tar"
    manifest = [{"Config": cfg_name, "RepoTags": [ref], "Layers": [layer_name]}]
    with tarfile.open(out + ".tmp", "w") as t:
        add_file(t, cfg_name, cfg)
        add_dir(t, diff_id[7:])
        add_file(t, layer_name, layer)
        add_file(t, "manifest.json", json.dumps(manifest).encode())
    os.replace(out + ".tmp", out)


def layer_of(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        build(t)
    return buf.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: node-images.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        pause = os.path.join(tmp, "pause")
        subprocess.run(["gcc", "-static", "-Os", "-s", "-Wall", "-Werror", "-o", pause,
                        os.path.join(HERE, "pause.c")], check=True)
        with open(pause, "rb") as f:
            pause_bin = f.read()

    def pause_layer(t):
        add_file(t, "pause", pause_bin, 0o755)
    archive(os.path.join(out, "pause.tar"), "registry.k8s.io/pause:3.6",
            layer_of(pause_layer), {"config": {"Entrypoint": ["/pause"]}})

    busybox = shutil.which("busybox") or "/bin/busybox"
    with open(busybox, "rb") as f:
        bb = f.read()
    # ldd fails on a static executable
    if subprocess.run(["ldd", busybox], capture_output=True).returncode == 0:
        sys.exit(f"{busybox} is not static: apt-get install busybox-static")

    def shell_layer(t):
        for d in ["bin", "etc", "tmp", "root", "proc", "sys", "dev"]:
            add_dir(t, d, 0o1777 if d == "tmp" else 0o755)
        add_file(t, "bin/busybox", bb, 0o755)
        for tool in ["sh", "cat", "sleep", "ls", "id", "ps", "head"]:
            add_link(t, "bin/" + tool, "busybox")
        add_file(t, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
                 b"appuser:x:1000:1000:app:/tmp:/bin/sh\n")
        add_file(t, "etc/group", b"root:x:0:\nappuser:x:1000:\n")
        add_file(t, "etc/shadow", b"root:*:19000:0:99999:7:::\n"
                 b"appuser:!:19000:0:99999:7:::\n", 0o640)
    archive(os.path.join(out, "shell.tar"), "localhost/shell:1",
            layer_of(shell_layer), {"config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]}})
    print(os.path.join(out, "pause.tar"))
    print(os.path.join(out, "shell.tar"))


if __name__ == "__main__":
    main()
