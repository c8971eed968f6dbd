#!/usr/bin/env python3
"""Summarises a jwtguard_bench JSON run (Google Benchmark, with aggregates).

    scripts/bench_report.py RUN.json OUT_DIR [OPTIONAL_PARTS.txt]

OPTIONAL_PARTS.txt is the build tree's record of optional parts
(cmake/JwtguardOptional.cmake): a part that was not built turns its rows and
targets into "not measured: <why>" instead of leaving them out.

Prints the summary table (stage, median ns/op, ratio to its floor, speedup
over libjwt, allocations per op) and the issue targets, each met or not;
writes OUT_DIR/summary.md and, when gnuplot is installed, OUT_DIR/stages.svg
(ns/op of every stage against the floors, log scale).
"""
import json
import os
import shutil
import subprocess
import sys

# (label, benchmark, floor, peer): the floor and the peer are benchmark
# names in the same run (None: not applicable).
HS_FLOOR = "BM_floor_hmac_precomputed"
POOL_FLOOR = "BM_floor_hmac_pool"
RS_FLOOR = "BM_floor_evp_digest_verify"
HS_PEER = "BM_peer_libjwt_hs256"
RS_PEER = "BM_peer_libjwt_rs256"
ROWS = [
    ("floor: HMAC-SHA256, pads precomputed (HS256)", HS_FLOOR, HS_FLOOR, None),
    ("floor: same, over the 4096-token pool", POOL_FLOOR, POOL_FLOOR, None),
    ("floor: EVP_DigestVerify RSA-2048 (RS256)", RS_FLOOR, RS_FLOOR, None),
    ("OpenSSL one-shot HMAC()", "BM_openssl_hmac_oneshot", HS_FLOOR, None),
    ("stage: split into segments", "BM_split_token", HS_FLOOR, None),
    ("stage: base64url header (66 chars)", "BM_base64url_decode/segment:0", HS_FLOOR, None),
    ("stage: base64url payload (472 chars)", "BM_base64url_decode/segment:1", HS_FLOOR, None),
    ("stage: base64url signature (43 chars)", "BM_base64url_decode/segment:2", HS_FLOOR, None),
    ("stage: header JSON", "BM_parse_header", HS_FLOOR, None),
    ("stage: claims JSON (~330 bytes)", "BM_parse_claims", HS_FLOOR, None),
    ("floor of the claims JSON: AVX2 structural index + UTF-8 check, same bytes",
     "BM_floor_claims_structural", HS_FLOOR, None),
    ("stage: claim policy", "BM_check_claims", HS_FLOOR, None),
    ("stage: Hs256Key::verify", "BM_hs256_verify", HS_FLOOR, None),
    ("stage: Rs256Key::verify", "BM_rs256_verify", RS_FLOOR, None),
    ("stage: denylist miss, 1M live, one at a time", "BM_denylist_miss_one_at_a_time/1000000", HS_FLOOR, None),
    ("HS256 validate, valid", "BM_validate_hs256", HS_FLOOR, HS_PEER),
    ("HS256 validate, valid, header not memoized", "BM_validate_hs256_new_header", HS_FLOOR, HS_PEER),
    ("HS256 validate, forged signature", "BM_validate_hs256_rejected/path:0", HS_FLOOR, HS_PEER),
    ("HS256 validate, expired", "BM_validate_hs256_rejected/path:1", HS_FLOOR, HS_PEER),
    ("HS256 validate, oversize token", "BM_validate_hs256_rejected/path:2", HS_FLOOR, None),
    ("HS256 validate, pool, no denylist", "BM_validate_hs256_denylist/live:0/revoked:0/hint:1", POOL_FLOOR, HS_PEER),
    # The validator's defaults (the prefetch hint on), then without it.
    ("HS256 validate, pool, 1M live revocations", "BM_validate_hs256_denylist/live:1000000/revoked:0/hint:1", POOL_FLOOR, HS_PEER),
    ("HS256 validate, pool, 1M live, prefetch hint off", "BM_validate_hs256_denylist/live:1000000/revoked:0/hint:0", POOL_FLOOR, HS_PEER),
    ("HS256 validate, pool, 10M live revocations", "BM_validate_hs256_denylist/live:10000000/revoked:0/hint:1", POOL_FLOOR, HS_PEER),
    ("HS256 validate, pool, 10M live, prefetch hint off", "BM_validate_hs256_denylist/live:10000000/revoked:0/hint:0", POOL_FLOOR, HS_PEER),
    ("HS256 validate, revoked token (1M live)", "BM_validate_hs256_denylist/live:1000000/revoked:1/hint:1", POOL_FLOOR, HS_PEER),
    ("HS256 validate, 1 thread (1M live)", "BM_validate_hs256_threads/writer:0/real_time/threads:1", POOL_FLOOR, HS_PEER),
    ("HS256 validate, 2 threads (wall time per token)", "BM_validate_hs256_threads/writer:0/real_time/threads:2", None, None),
    ("HS256 validate, 1 thread + 100k/s writer", "BM_validate_hs256_threads/writer:1/real_time/threads:1", POOL_FLOOR, HS_PEER),
    ("HS256 validate, 2 threads + 100k/s writer (wall)", "BM_validate_hs256_threads/writer:1/real_time/threads:2", None, None),
    ("RS256 validate, valid", "BM_validate_rs256/live:0/forged:0", RS_FLOOR, RS_PEER),
    ("RS256 validate, forged signature", "BM_validate_rs256/live:0/forged:1", RS_FLOOR, RS_PEER),
    ("RS256 validate, 1M live revocations", "BM_validate_rs256/live:1000000/forged:0", RS_FLOOR, RS_PEER),
    ("RS256 validate, 10M live revocations", "BM_validate_rs256/live:10000000/forged:0", RS_FLOOR, RS_PEER),
    ("RS256 validate, verified-token cache hit", "BM_rs256_repeated_token/cache:1", RS_FLOOR, None),
    ("libjwt 1.10, HS256", HS_PEER, HS_FLOOR, None),
    ("libjwt 1.10, RS256", RS_PEER, RS_FLOOR, None),
]

# The denylist (issue 4): every lookup against the floor of the same access
# pattern (the fingerprint plus the one or two cache lines no design of the
# issue's can avoid reading; bench/bench_denylist.cpp). Prefetched rows run
# batches of 16 and are shown per lookup.
MISS_FLOOR_10K = "BM_floor_denylist_miss/keys:10000/one_at_a_time:1"
MISS_FLOOR_1M = "BM_floor_denylist_miss/keys:1000000/one_at_a_time:1"
MISS_FLOOR_10M = "BM_floor_denylist_miss/keys:10000000/one_at_a_time:0"
MISS_FLOOR_10M_ONE = "BM_floor_denylist_miss/keys:10000000/one_at_a_time:1"
HIT_FLOOR = "BM_floor_denylist_hit/keys:10000000/one_at_a_time:0"
HIT_FLOOR_ONE = "BM_floor_denylist_hit/keys:10000000/one_at_a_time:1"
DENYLIST_ROWS = [
    ("floor: miss, 15 KB filter (in L1), one at a time", MISS_FLOOR_10K, MISS_FLOOR_10K),
    ("floor: miss, 1.5 MB filter, one at a time", MISS_FLOOR_1M, MISS_FLOOR_1M),
    ("floor: miss, 15 MB filter, back to back", MISS_FLOOR_10M, MISS_FLOOR_10M),
    ("floor: miss, 15 MB filter, one at a time", MISS_FLOOR_10M_ONE, MISS_FLOOR_10M_ONE),
    ("floor: hit, filter + 160 MB set, back to back", HIT_FLOOR, HIT_FLOOR),
    ("floor: hit, filter + 160 MB set, one at a time", HIT_FLOOR_ONE, HIT_FLOOR_ONE),
    ("miss, 10k live, one at a time", "BM_denylist_miss_one_at_a_time/10000", MISS_FLOOR_10K),
    ("miss, 1M live, one at a time", "BM_denylist_miss_one_at_a_time/1000000", MISS_FLOOR_1M),
    ("miss, 1M live, batched", "BM_denylist_miss_batched/1000000", None),
    ("miss, 1M live, prefetched batches (per lookup)", "BM_denylist_miss_prefetched/1000000", None),
    ("miss, 10M live, batched", "BM_denylist_miss_batched/10000000", MISS_FLOOR_10M),
    ("miss, 10M live, one at a time", "BM_denylist_miss_one_at_a_time/10000000", MISS_FLOOR_10M_ONE),
    ("miss, 10M live, prefetched batches (per lookup)", "BM_denylist_miss_prefetched/10000000", MISS_FLOOR_10M),
    ("revoked, 10M live, batched", "BM_denylist_hit/live:10000000/one_at_a_time:0", HIT_FLOOR),
    ("revoked, 10M live, one at a time", "BM_denylist_hit/live:10000000/one_at_a_time:1", HIT_FLOOR_ONE),
    ("revoked, 10M live, prefetched batches (per lookup)", "BM_denylist_hit_prefetched/10000000", HIT_FLOOR),
    ("miss, 1M live, 1 reader while a writer revokes 100k/s", "BM_denylist_miss_with_writer/1000000", None),
    ("advance() dropping a bucket of 64k (1M live), per call", "BM_denylist_advance/1000000/iterations:10", None),
    ("advance() dropping a bucket of 643k (10M live), per call", "BM_denylist_advance/10000000/iterations:10", None),
]

# Every algorithm (issue 19, bench/bench_algorithms.cpp): OpenSSL's
# allocating EVP_DigestVerify, the implementation jwtguard uses called
# directly ("bare"), the whole validation, and a verified-token cache hit.
ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
              "ES256", "ES384", "ES512", "EdDSA"]

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def medians(run):
    """Median ns/op (real time for multi-threaded rows) and counters, by name."""
    out = {}
    for b in run["benchmarks"]:
        if b.get("aggregate_name", "median") != "median" or b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        scale = UNIT_NS[b.get("time_unit", "ns")]
        threaded = "real_time" in name
        ns = (b["real_time"] if threaded else b["cpu_time"]) * scale
        out[name] = {"ns": ns, "allocs": b.get("allocs_per_op"), "counters": b}
    return out


def spreads(run):
    """The coefficient of variation over the repetitions (Google Benchmark's
    cv aggregate, counters included), by name: how far to trust a median."""
    return {b.get("run_name", b["name"]): b for b in run["benchmarks"]
            if b.get("aggregate_name") == "cv" and not b.get("error_occurred")}


def fmt_ns(ns):
    if ns >= 10_000:
        return f"{ns / 1000:,.1f} us"
    if ns >= 100:
        return f"{ns:,.0f} ns"
    return f"{ns:.1f} ns"


# The optional part (its name in optional-parts.txt) each peer row needs.
PEER_PART = {HS_PEER: "libjwt peer benchmark", RS_PEER: "libjwt peer benchmark"}


def parts_not_built(path):
    """{part: why} for every optional part the build left out."""
    out = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                part, sep, why = line.rstrip("\n").partition(": not built: ")
                if sep:
                    out[part] = why
    return out


def machine_line(context, per_lookup):
    """The machine the run measured (issue 22): CPU model, frequency, caches,
    and the latency of one random line of a 1.5 MB and a 160 MB region."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    caches = []
    for c in context.get("caches", []):
        if c.get("type") in ("Data", "Unified"):
            size = c.get("size", 0)
            text = f"{size // (1 << 20)} MiB" if size >= 1 << 20 else f"{size // 1024} KiB"
            caches.append(f"L{c.get('level')} {text}")
    latency = []
    for label, name in (("1.5 MB", "BM_machine_random_line/bytes:1500000"),
                        ("160 MB", "BM_machine_random_line/bytes:160000000")):
        ns = per_lookup(name)
        if ns is not None:
            latency.append(f"{label} {ns:.1f} ns")
    return (f"machine: {model}, {context.get('num_cpus', '?')} CPUs @ {context.get('mhz_per_cpu', '?')} MHz"
            f"{', ' + ', '.join(caches) if caches else ''}"
            f"; one random line: {', '.join(latency) if latency else 'not measured'}")


def main():
    run_path, out_dir = sys.argv[1], sys.argv[2]
    missing = parts_not_built(sys.argv[3] if len(sys.argv) > 3 else None)
    with open(run_path) as f:
        run = json.load(f)
    m = medians(run)

    def why_not(name):
        """Why a row cannot be in this run, if an optional part says so."""
        part = PEER_PART.get(name)
        return f"{part}: {missing[part]}" if part in missing else None

    lines = ["| stage | ns/op (median) | vs its floor | speedup over libjwt | allocs/op |",
             "| --- | --- | --- | --- | --- |"]
    chart = []
    for label, name, floor, peer in ROWS:
        if name not in m:
            if why_not(name):
                lines.append(f"| {label} | not measured: {why_not(name)} | | | |")
            continue
        ns = m[name]["ns"]
        ratio = f"{ns / m[floor]['ns']:.2f}x" if floor in m and floor != name else ""
        speedup = f"{m[peer]['ns'] / ns:.1f}x" if peer and peer in m else ""
        if peer and why_not(peer):
            speedup = "not measured"
        allocs = m[name]["allocs"]
        allocs = "" if allocs is None else f"{allocs:g}"
        lines.append(f"| {label} | {fmt_ns(ns)} | {ratio} | {speedup} | {allocs} |")
        chart.append((label, ns, name in (HS_FLOOR, POOL_FLOOR, RS_FLOOR)))

    def get(name):
        return m[name]["ns"] if name in m else None

    targets = []

    def target(text, value, ok):
        if value is None:
            targets.append(f"- {text}: not measured")
        else:
            targets.append(f"- {text}: {value} -> {'met' if ok else 'NOT MET'}")

    # The validator's defaults (the prefetch hint on), as every target below.
    hs_1m = get("BM_validate_hs256_denylist/live:1000000/revoked:0/hint:1")
    if hs_1m and get(POOL_FLOOR):
        r = hs_1m / get(POOL_FLOOR)
        target("HS256 validate, 1M live, <= 2.0x its floor", f"{r:.2f}x", r <= 2.0)
    if hs_1m and get(HS_PEER):
        s = get(HS_PEER) / hs_1m
        target("HS256 validate, 1M live, >= 12x libjwt", f"{s:.1f}x", s >= 12)
    elif why_not(HS_PEER):
        targets.append(f"- HS256 validate, 1M live, >= 12x libjwt: not measured: {why_not(HS_PEER)}")
    # Issue 22, with the validator's defaults (the prefetch hint on; live:0 has no
    # denylist). The paired row times every figure and its floor in turns
    # (bench_validate.cpp, BM_validate_hs256_paired), which a neighbour that
    # comes and goes cannot skew as it skews separate rows: its ratios are
    # the figures, the separate rows' only where it did not run.
    single, pool0 = get("BM_validate_hs256"), get("BM_validate_hs256_denylist/live:0/revoked:0/hint:1")
    pool1m = hs_1m
    paired = m.get("BM_validate_hs256_paired", {}).get("counters", {})
    paired_cv = spreads(run).get("BM_validate_hs256_paired", {})

    def spread(counter):
        value = paired_cv.get(counter)
        return f"; cv {value * 100:.1f}% over the repetitions" if value is not None else ""

    if "single_ratio" in paired:
        r = paired["single_ratio"]
        target("issue 22: HS256 validate, one valid token, <= 1.6x its floor (paired: "
               f"{paired['single_ns']:.0f} / {paired['single_floor_ns']:.0f} ns{spread('single_ratio')})",
               f"{r:.2f}x", r <= 1.6)
        r = paired["pool_ratio"]
        target("issue 22: HS256 validate, pool, 1M live, <= 1.5x its floor (paired: "
               f"{paired['pool_1m_ns']:.0f} / {paired['pool_floor_ns']:.0f} ns{spread('pool_ratio')})",
               f"{r:.2f}x", r <= 1.5)
        if "single_over_key" in paired:
            targets.append("- issue 22: HS256 validate, one valid token, over jwtguard's own HMAC "
                           f"(paired: {paired['single_ns']:.0f} / {paired['single_key_ns']:.0f} ns): "
                           f"{paired['single_over_key']:.2f}x (that HMAC runs "
                           f"{(1 - paired['single_key_ns'] / paired['single_floor_ns']) * 100:.0f}% "
                           "below the OpenSSL floor: hmac.hpp)")
        cost = paired["denylist_cost"]
        target("issue 22: the denylist in HS256 validate, 1M live, <= +5% (paired: "
               f"{paired['pool_1m_ns']:.0f} / {paired['pool_ns']:.0f} ns{spread('denylist_cost')})",
               f"{cost * 100:+.1f}%",
               cost <= 0.05)
        if "pool_floor_lookup_ns" in paired:
            # The floor of a lookup (bench::LookupFloor: the fingerprint and
            # one line of a 1.5 MB region) after the bare HMAC of the same
            # tokens: what no denylist can avoid, in the same pipeline spot.
            floor_ns = paired["pool_floor_lookup_ns"] - paired["pool_floor_ns"]
            ours_ns = paired["pool_1m_ns"] - paired["pool_ns"]
            targets.append("- issue 22: the floor of the denylist figure, a lookup's floor after the "
                           f"bare HMAC (paired: {paired['pool_floor_lookup_ns']:.0f} / "
                           f"{paired['pool_floor_ns']:.0f} ns): adds {floor_ns:.0f} ns, "
                           f"{floor_ns / paired['pool_ns'] * 100:+.1f}% of the pool's validate; "
                           f"the denylist adds {ours_ns:.0f} ns, "
                           + (f"{ours_ns / floor_ns:.2f}x that floor" if floor_ns > 0 else
                              "and the floor nothing measurable"))
            r = paired["pool_1m_ns"] / paired["pool_floor_lookup_ns"]
            targets.append("- issue 22: HS256 validate, pool, 1M live, over the HMAC plus a lookup's "
                           f"floor (paired: {paired['pool_1m_ns']:.0f} / "
                           f"{paired['pool_floor_lookup_ns']:.0f} ns): {r:.2f}x")
        if "hint_speedup" in paired:
            targets.append("- issue 22: the denylist's prefetch hint (denylist_prefetch), pool, 1M live "
                           f"(paired: pool_1m {paired['pool_1m_ns']:.0f} ns, the other way "
                           f"{paired['pool_1m_other_hint_ns']:.0f} ns): time without it over with it "
                           f"{paired['hint_speedup']:.3f}")
    else:
        if single and get(HS_FLOOR):
            r = single / get(HS_FLOOR)
            target("issue 22: HS256 validate, one valid token, <= 1.6x its floor", f"{r:.2f}x", r <= 1.6)
        if pool1m and get(POOL_FLOOR):
            r = pool1m / get(POOL_FLOOR)
            target("issue 22: HS256 validate, pool, 1M live, <= 1.5x its floor", f"{r:.2f}x", r <= 1.5)
        if pool1m and pool0:
            cost = pool1m / pool0 - 1
            target("issue 22: the denylist in HS256 validate, 1M live, <= +5%", f"{cost * 100:+.1f}%",
                   cost <= 0.05)
    if pool1m and get(HS_PEER):
        sp = get(HS_PEER) / pool1m
        target("issue 22: HS256 validate, pool, 1M live, >= 15x libjwt", f"{sp:.1f}x", sp >= 15)
    claims, structural = get("BM_parse_claims"), get("BM_floor_claims_structural")
    if claims and structural:
        r = claims / structural
        target("issue 22: claims JSON <= 1.5x its structural floor", f"{r:.2f}x", r <= 1.5)
    rs = get("BM_validate_rs256/live:0/forged:0")
    if rs and get(RS_FLOOR):
        r = rs / get(RS_FLOOR)
        target("RS256 validate <= 1.0x EVP_DigestVerify", f"{r:.2f}x", r <= 1.0)
    forged, valid = get("BM_validate_hs256_rejected/path:0"), get("BM_validate_hs256")
    if forged and valid:
        target("HS256 forgery costs no more than a valid token",
               f"{fmt_ns(forged)} vs {fmt_ns(valid)}", forged <= valid)
    oversize = get("BM_validate_hs256_rejected/path:2")
    if oversize is not None:
        target("oversize token rejected in < 50 ns", fmt_ns(oversize), oversize < 50)
    one = get("BM_validate_hs256_threads/writer:0/real_time/threads:1")
    two = get("BM_validate_hs256_threads/writer:0/real_time/threads:2")
    if one and two:
        target("2 threads >= 1.9x one thread", f"{one / two:.2f}x", one / two >= 1.9)
    pipeline_allocs = [v["allocs"] for k, v in m.items() if k.startswith("BM_validate") and v["allocs"] is not None]
    if pipeline_allocs:
        worst = max(pipeline_allocs)
        target("allocations per validation, every pipeline row", f"max {worst:g}", worst == 0)

    # Issue 4: the denylist.
    def per_lookup(name):
        """ns per lookup: from items/s, so that batches of 16 count 16."""
        if name not in m:
            return None
        rate = m[name]["counters"].get("items_per_second")
        return 1e9 / rate if rate else m[name]["ns"]

    denylist_lines = ["| figure | median (per lookup, or per call) | vs its floor |", "| --- | --- | --- |"]
    for label, name, floor in DENYLIST_ROWS:
        ns = per_lookup(name)
        if ns is None:
            continue
        ratio = f"{ns / per_lookup(floor):.2f}x" if floor and floor != name and floor in m else ""
        denylist_lines.append(f"| {label} | {fmt_ns(ns)} | {ratio} |")

    def counter(name, key):
        return m[name]["counters"].get(key) if name in m else None

    miss_1m = per_lookup("BM_denylist_miss_one_at_a_time/1000000")
    if miss_1m is not None:
        floor = per_lookup(MISS_FLOOR_1M)
        target("denylist miss, 1M live, one at a time <= 25 ns",
               fmt_ns(miss_1m) + (f" (its floor: {fmt_ns(floor)})" if floor else ""), miss_1m <= 25)
    miss_10m = per_lookup("BM_denylist_miss_batched/10000000")
    if miss_10m is not None:
        target("denylist miss, 10M live, batched <= 60 ns", fmt_ns(miss_10m), miss_10m <= 60)
    for mode, name, floor in (("batched", "BM_denylist_hit/live:10000000/one_at_a_time:0", HIT_FLOOR),
                              ("one at a time", "BM_denylist_hit/live:10000000/one_at_a_time:1",
                               HIT_FLOOR_ONE)):
        ns = per_lookup(name)
        if ns is not None:
            f_ns = per_lookup(floor)
            target(f"denylist revoked, 10M live, {mode} <= 200 ns",
                   fmt_ns(ns) + (f" (its floor: {fmt_ns(f_ns)})" if f_ns else ""), ns <= 200)
    for live in ("1000000", "10000000"):
        fp = counter(f"BM_denylist_filter_quality/{live}", "false_positive_pct")
        if fp is not None:
            target(f"bloom false positives, {int(live) // 1000000}M live <= 0.6%", f"{fp:.3f}%", fp <= 0.6)
    per_rev = counter("BM_denylist_filter_quality/10000000", "bytes_per_revocation")
    if per_rev is not None:
        target("memory per live revocation, 10M live <= 40 bytes", f"{per_rev:.1f} bytes", per_rev <= 40)
    insert = counter("BM_denylist_insert/iterations:3", "items_per_second")
    if insert is not None:
        target("insert, one thread >= 2M/s", f"{insert / 1e6:.2f}M/s", insert >= 2e6)
    one = per_lookup("BM_denylist_miss_batched/1000000/real_time/threads:1")
    two = counter("BM_denylist_miss_batched/1000000/real_time/threads:2", "items_per_second")
    if one and two:
        scale = two / (1e9 / one)
        target("denylist, 2 threads >= 1.8x one", f"{scale:.2f}x", scale >= 1.8)
    alone, written = per_lookup("BM_denylist_miss_batched/1000000"), per_lookup(
        "BM_denylist_miss_with_writer/1000000")
    if alone and written:
        cost = written / alone - 1
        target("a 100k/s writer costs lookups <= 15%", f"{cost * 100:+.1f}%", cost <= 0.15)
    bare = get("BM_validate_hs256_denylist/live:0/revoked:0/hint:1")
    if hs_1m and bare:
        cost = hs_1m / bare - 1
        target("denylist inside HS256 validate, 1M live, adds <= 10%", f"{cost * 100:+.1f}%", cost <= 0.10)

    # Issue 19: every algorithm.
    # validate / bare: the paired row's ratio (both timed in turns in one
    # loop, bench_algorithms.cpp) is the figure; the ratio of the separate
    # rows, measured seconds apart, is shown beside it.
    algorithm_lines = ["| alg | EVP_DigestVerify | bare verify | validate | validate / bare (paired) "
                       "| validate / bare (separate rows) | bare / EVP | cache hit "
                       "| allocs/op (validate) | refused / valid verify |",
                       "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]

    def paired_counter(alg, name):
        row = m.get(f"BM_validate_paired/{alg}")
        return row["counters"].get(name) if row else None

    def paired_ratio(alg):
        return paired_counter(alg, "ratio")

    def ratio_of(alg):
        paired = paired_ratio(alg)
        if paired is not None:
            return paired
        val, bare = get(f"BM_validate/{alg}"), get(f"BM_bare_verify/{alg}")
        return val / bare if val and bare else None

    for alg in ALGORITHMS:
        evp, bare, val = (get(f"BM_evp_verify/{alg}"), get(f"BM_bare_verify/{alg}"),
                          get(f"BM_validate/{alg}"))
        if val is None:
            continue
        hit = get(f"BM_validate_cached/{alg}")
        allocs = m[f"BM_validate/{alg}"]["allocs"]
        paired = paired_ratio(alg)
        # A forged signature's cost against a valid one's (ES* decides the
        # point-duplication case after Nettle refuses: ecdsa.hpp).
        refused, verify = get(f"BM_key_verify_refused/{alg}"), get(f"BM_key_verify/{alg}")
        forged = f"{refused / verify:.2f}x" if refused and verify else ""
        algorithm_lines.append(
            f"| {alg} | {fmt_ns(evp) if evp else ''} | {fmt_ns(bare) if bare else ''} | {fmt_ns(val)} "
            f"| {f'{paired:.2f}x' if paired is not None else ''} "
            f"| {val / bare:.2f}x | {bare / evp:.2f}x | {fmt_ns(hit) if hit else ''} "
            f"| {'' if allocs is None else f'{allocs:g}'} | {forged} |" if bare and evp else
            f"| {alg} | | | {fmt_ns(val)} | | | | | | {forged} |")
    asymmetric = [r for r in (ratio_of(a) for a in ALGORITHMS if not a.startswith("HS"))
                  if r is not None]
    if asymmetric:
        target("RS*, PS*, ES*, EdDSA: validate <= 1.1x the bare verify it uses (worst, paired)",
               f"{max(asymmetric):.2f}x", max(asymmetric) <= 1.1)
    hs = [r for r in (ratio_of(a) for a in ("HS256", "HS384", "HS512")) if r is not None]
    if hs:
        target("HS*: validate <= 1.1x the bare HMAC (worst, paired; the claims stage, issue 22)",
               f"{max(hs):.2f}x", max(hs) <= 1.1)

    # HS*'s physical floor, timed in the same turns (HmacValidationFloor in
    # bench_algorithms.cpp): the segments' decoding, one structural pass
    # over the claims and the bare HMAC. Where the floor itself costs more
    # than 1.1x the HMAC, that target lies below it and the ratio to the
    # floor is the figure.
    for alg in ("HS256", "HS384", "HS512"):
        floor_over_bare = paired_counter(alg, "floor_over_bare")
        floor_ratio = paired_counter(alg, "floor_ratio")
        if floor_over_bare is None or floor_ratio is None:
            continue
        targets.append(f"- {alg}: its physical floor (decode + structural pass + HMAC) costs "
                       f"{floor_over_bare:.2f}x the bare HMAC"
                       f"{' (1.1x lies below it)' if floor_over_bare > 1.1 else ''}; "
                       f"validate is {floor_ratio:.2f}x that floor (paired)")

    context = run.get("context", {})
    machine = machine_line(context, per_lookup)
    header = (f"jwtguard_bench, {context.get('date', '')}, {context.get('num_cpus', '?')} CPUs "
              f"@ {context.get('mhz_per_cpu', '?')} MHz, medians of "
              f"{max((b.get('repetitions', 1) for b in run['benchmarks']), default=1)} repetitions")
    not_measured = [f"- {part}: not measured: {why}" for part, why in missing.items()
                    if part in PEER_PART.values()]
    text = "\n".join([header, machine, "", *lines, "", "Denylist (issue 4):", "", *denylist_lines, "",
                      "Every algorithm (issue 19):", "", *algorithm_lines, "",
                      "Targets (issues 4, 5 and 19):", *targets, ""] +
                     (["Optional parts not built, so not measured:", *not_measured, ""]
                      if not_measured else []))
    print(text)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(text)

    if not chart:
        print("bench_report: no stage or pipeline row in this run (filtered?): no chart")
        return
    if shutil.which("gnuplot") is None:
        print("bench_report: gnuplot not found (Debian: gnuplot-nox): no chart")
        return
    data = os.path.join(out_dir, "stages.tsv")
    with open(data, "w") as f:
        for label, ns, is_floor in reversed(chart):
            f.write(f"\"{label}\"\t{ns}\t{1 if is_floor else 0}\n")
    svg = os.path.join(out_dir, "stages.svg")
    script = f"""
set terminal svg size 1000,{120 + 22 * len(chart)} dynamic font "sans,11" noenhanced
set output "{svg}"
set title "jwtguard: ns per operation, median (floors in red; log scale)"
set style fill solid 0.8 border -1
set logscale x
set xrange [1:*]
set xlabel "ns/op"
set grid xtics
unset key
set yrange [-0.8:{len(chart) - 0.2}]
set ytics nomirror
plot "{data}" using (1):0:(1):2:($0 - 0.35):($0 + 0.35):($3 == 1 ? 0xcc3333 : 0x3366aa):ytic(1) \\
     with boxxyerror lc rgb variable
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"bench_report: chart in {svg}")


if __name__ == "__main__":
    main()
