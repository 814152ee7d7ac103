"""What `lvmfast bench` shows: Markdown tables, the JSON record, the plot."""
import json

# Every field of a case row in --json; the tests check each is there.
ROW_FIELDS = (
    "case", "model", "title", "dtype", "size", "size_text", "threads", "step", "fit", "lvmfast", "sklearn",
    "step_speedup", "fit_speedup", "agreement", "floor", "floor_seconds", "step_over_floor",
)
MEASUREMENT_FIELDS = ("implementation", "fit_seconds", "step_seconds", "summary", "peak_mb")
AGREEMENT_FIELDS = ("metric", "value", "tolerance", "agrees", "text")
MACHINE_FIELDS = (
    "lvmfast", "sklearn", "numpy", "python", "platform", "processor", "cores", "threads", "openmp",
    "gemm_flops", "exp_rate", "read_bandwidth", "date",
)
SCALING_FIELDS = ("case", "title", "dtype", "size_text", "timed", "threads", "seconds", "speedup")


def seconds_text(seconds):
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def ratio_text(ratio):
    return "" if ratio is None else f"{ratio:.2f}x"


def memory_text(mb):
    return "" if mb is None else f"{mb:.0f}"


def floor_text(row):
    """The step's floor and what sets it: '47.7 ms GEMM', '3.1 ms read X'."""
    return "" if row["floor_seconds"] is None else f"{seconds_text(row['floor_seconds'])} {row['floor']}"


def markdown(results):
    """The comparison table and the scaling table, as Markdown text."""
    m = results["machine"]
    rates = ", ".join(f"{r / 1e9:.0f} GFLOP/s {t}" for t, r in m["gemm_flops"].items())
    bandwidth = f" Memory read (BLAS gemv): {m['read_bandwidth'] / 1e9:.0f} GB/s." if m.get("read_bandwidth") else ""
    if m.get("exp_rate"):
        exps = ", ".join(f"{r / 1e9:.2f} G/s {t}" for t, r in m["exp_rate"].items())
        bandwidth += f" exp (numpy, times the threads): {exps}."
    lines = [
        f"lvmfast {m['lvmfast']} vs scikit-learn {m['sklearn']} on {m['processor'] or 'an unknown CPU'} "
        f"({m['cores']} cores), {m['threads']} threads each, OpenMP {'on' if m['openmp'] else 'off'}. "
        f"GEMM (numpy matmul): {rates}.{bandwidth}",
        "",
        "| case | dtype | size | step | lvmfast | scikit-learn | speedup | fit | lvmfast | scikit-learn | speedup "
        "| agreement | peak MiB lvmfast | peak MiB scikit-learn | floor | step / floor |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in results["cases"]:
        ours, theirs, agreement = row["lvmfast"], row["sklearn"], row["agreement"]
        verdict = agreement["text"] if agreement["agrees"] else f"**differs**: {agreement['text']}"
        lines.append("| " + " | ".join([
            row["title"], row["dtype"], row["size_text"], row["step"] or "",
            seconds_text(ours["step_seconds"]), seconds_text(theirs["step_seconds"]), ratio_text(row["step_speedup"]),
            row["fit"], seconds_text(ours["fit_seconds"]), seconds_text(theirs["fit_seconds"]),
            ratio_text(row["fit_speedup"]), verdict, memory_text(ours["peak_mb"]), memory_text(theirs["peak_mb"]),
            floor_text(row), ratio_text(row["step_over_floor"]),
        ]) + " |")
    if results["scaling"]:
        counts = results["scaling"][0]["threads"]
        lines += [
            "",
            "Thread scaling of lvmfast (time, and speedup over one thread):",
            "",
            "| kernel | dtype | size | timed | " + " | ".join(f"{n} thread{'s' * (n > 1)}" for n in counts) + " |",
            "| --- | --- | --- | --- | " + " | ".join("---:" for _ in counts) + " |",
        ]
        for s in results["scaling"]:
            cells = [f"{seconds_text(t)} ({r:.2f}x)" for t, r in zip(s["seconds"], s["speedup"])]
            lines.append(f"| {s['title']} | {s['dtype']} | {s['size_text']} | {s['timed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_json(results, path):
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


def plot_available():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(results, path):
    """A PNG: the speedups over scikit-learn per case, and the thread scaling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 if results["scaling"] else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 0.35 * len(results["cases"]) + 2), squeeze=False)
    ax = axes[0, 0]
    labels = [f"{r['title']} {r['dtype']}" for r in results["cases"]]
    positions = range(len(labels))
    step = [r["step_speedup"] or 0 for r in results["cases"]]
    fit = [r["fit_speedup"] or 0 for r in results["cases"]]
    ax.barh([p - 0.2 for p in positions], step, height=0.4, label="step (iteration / predict_proba)")
    ax.barh([p + 0.2 for p in positions], fit, height=0.4, label="fit")
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("speedup over scikit-learn (log scale)")
    ax.legend(fontsize=8)
    m = results["machine"]
    ax.set_title(f"lvmfast {m['lvmfast']} vs scikit-learn {m['sklearn']}, {m['threads']} threads", fontsize=9)
    if results["scaling"]:
        ax = axes[0, 1]
        for s in results["scaling"]:
            ax.plot(s["threads"], s["speedup"], marker="o", label=f"{s['title']}: {s['timed']}")
        top = max(results["scaling"][0]["threads"])
        ax.plot([1, top], [1, top], color="gray", linestyle="--", linewidth=0.8, label="ideal")
        ax.set_xlabel("threads")
        ax.set_ylabel("speedup over one thread")
        ax.set_title(f"lvmfast thread scaling, {m['cores']} cores", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
