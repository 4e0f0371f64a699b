"""What the val calibration should give on another traffic mix, estimated from val alone.

Val is the calibration set, so its own on-device accuracy is the target by construction. This
splits val's records in two halves (in scope and out of scope each halved, `splits` random
splits), calibrates on one half with the real `edgecloud calibrate --target-edge-accuracy A
--oos-share S`, and measures on the other with the real `edgecloud eval`, the out-of-scope records
of that half repeated so that they make S of it (CLINC150's published test split: 1,000 of
5,500). Both directions, averaged. No routing logic is written here: both steps are the CLI's.
"""
import json
import os
import random
import subprocess
import tempfile


def _write(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (p.returncode, " ".join(cmd),
                                                            p.stderr[-2000:]))
    return p.stdout


def test_mix_estimate(ec, records, config, target, share, cloud_label="oos", splits=5, seed=7):
    """records: eval --records lines without "route"; config: the routing config to start from.
    Returns the mean and the range of on_device_rate, on_device_accuracy and oos_to_cloud."""
    ins = [r for r in records if r["label"] != cloud_label]
    oos = [r for r in records if r["label"] == cloud_label]
    if len(ins) < 2 or len(oos) < 2:
        return None
    keys = ("on_device_rate", "on_device_accuracy", "oos_to_cloud")
    seen = {k: [] for k in keys}
    with tempfile.TemporaryDirectory() as tmp:
        cal_path, test_path, cfg_path = (os.path.join(tmp, n) for n in
                                         ("cal.jsonl", "test.jsonl", "cfg.json"))
        for s in range(splits):
            rng = random.Random(seed + s)
            a, b = ins[:], oos[:]
            rng.shuffle(a)
            rng.shuffle(b)
            halves = (a[:len(a) // 2] + b[:len(b) // 2], a[len(a) // 2:] + b[len(b) // 2:])
            for cal, test in (halves, halves[::-1]):
                _write(cal_path, cal)
                _run([ec, "calibrate", "--data", cal_path, "--target-edge-accuracy", str(target),
                      "--oos-share", str(share), "--config", config, "--out", cfg_path])
                t_in = [r for r in test if r["label"] != cloud_label]
                t_oos = [r for r in test if r["label"] == cloud_label]
                # Repeat the out-of-scope records to make `share` of the half (whole copies and
                # a random part for the remainder).
                want = share / (1 - share) * len(t_in)
                reps = t_oos * int(want // len(t_oos)) + rng.sample(
                    t_oos, int(round(want - len(t_oos) * int(want // len(t_oos)))))
                _write(test_path, t_in + reps)
                rep = json.loads(_run([ec, "eval", "--data", test_path, "--config", cfg_path,
                                       "--json"]).splitlines()[-1])
                for k in keys:
                    if rep.get(k) is not None:
                        seen[k].append(rep[k])
    out = {"target_edge_accuracy": target, "oos_share": share, "splits": 2 * splits}
    for k in keys:
        v = seen[k]
        out[k] = {"mean": sum(v) / len(v), "min": min(v), "max": max(v)} if v else None
    return out
