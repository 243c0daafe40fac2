# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tables and plots of benchmarks/run, from the JSON rows that
tutorial-bench, scaling-bench, parallel-overhead and run_joblib.py print.

Every table puts joblib-glib and Python joblib side by side; a ratio is
joblib's time over ours (above 1: we are faster)."""


def pick(rows, **match):
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def one(rows, **match):
    found = pick(rows, **match)
    return found[0] if found else None


def fmt_seconds(s):
    if s is None:
        return '–'
    if s >= 1:
        return f'{s:.2f} s'
    if s >= 1e-3:
        return f'{s * 1e3:.1f} ms'
    return f'{s * 1e6:.1f} µs'


def fmt_us(us):
    if us is None:
        return '–'
    if us >= 1e4:
        return f'{us / 1e3:.0f} ms'
    if us >= 1e3:
        return f'{us / 1e3:.2f} ms'
    return f'{us:.3g} µs'


def ratio(theirs, ours):
    if theirs is None or ours is None or ours <= 0:
        return '–'
    x = theirs / ours
    return f'{x:.0f}×' if x >= 10 else f'{x:.2f}×'


def fmt_bytes(n):
    for unit, size in (('GB', 1e9), ('MB', 1e6), ('KB', 1e3)):
        if n >= size:
            return f'{n / size:g} {unit}'
    return f'{n:g} B'


def table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join('---' if i == 0 else '---:' for i in range(len(header))) + '|']
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def spread(r):
    """min–max of the runs, to show how noisy a median is."""
    runs = r.get('runs') or []
    if len(runs) < 2:
        return ''
    return f' ({fmt_seconds(min(runs))}–{fmt_seconds(max(runs))})'


# --- dispatch overhead on threads (parallel-overhead.c, parallel_overhead_joblib.py)

def overhead_table(rows):
    body = []
    for n in sorted({r['n'] for r in rows}):
        d = one(rows, impl='joblib-glib', mode='dispatch', n=n)
        e = one(rows, impl='joblib-glib', mode='end-to-end', n=n)
        b = one(rows, impl='joblib-glib', mode='bulk-array', n=n)
        t = one(rows, impl='joblib', backend='threading', n=n)
        lk = one(rows, impl='joblib', backend='loky', n=n)
        val = (lambda r: r['us_per_task'] if r else None)
        body.append([f'{n:,}'.replace(',', ' '), fmt_us(val(d)), fmt_us(val(e)),
                     fmt_us(val(b)), fmt_us(val(t)), fmt_us(val(lk)),
                     ratio(val(t), val(e)), ratio(val(lk), val(e)), ratio(val(lk), val(b))])
    return table(['N tasks (n_jobs=2, trivial task)', 'ours, dispatch', 'ours, end-to-end',
                  'ours, bulk map (end-to-end)', 'joblib threading', 'joblib loky',
                  'threading / ours', 'loky / ours', 'loky / bulk'], body)


# --- scaling (scaling-bench.c, run_joblib.py count|size)

SCALING_SERIES = (('joblib-glib', 'threading', 'ours, threads'),
                  ('joblib-glib', 'processes', 'ours, processes'),
                  ('joblib_glib', 'threading', 'ours from Python, threads'),
                  ('joblib_glib', 'loky', 'ours from Python, processes'),
                  ('joblib', 'threading', 'joblib threading'),
                  ('joblib', 'loky', 'joblib loky'))


def scaling_table(rows, sweep):
    key = 'tasks' if sweep == 'count' else 'bytes'
    body = []
    for x in sorted({r[key] for r in pick(rows, sweep=sweep)}):
        cells = {}
        for impl, backend, _ in SCALING_SERIES:
            r = one(rows, sweep=sweep, impl=impl, backend=backend, **{key: x})
            cells[(impl, backend)] = r['us_per_task'] if r else None
        first = (f'{x:,}'.replace(',', ' ') if sweep == 'count' else
                 f'{fmt_bytes(x)} × {one(rows, sweep=sweep, bytes=x)["tasks"]}')
        body.append([first] + [fmt_us(cells[(i, b)]) for i, b, _ in SCALING_SERIES] +
                    [ratio(cells[('joblib', 'threading')], cells[('joblib-glib', 'threading')]),
                     ratio(cells[('joblib', 'loky')], cells[('joblib-glib', 'processes')]),
                     ratio(cells[('joblib', 'loky')], cells[('joblib_glib', 'loky')])])
    head = 'N tasks' if sweep == 'count' else 'argument size × tasks'
    return table([head] + [label for _, _, label in SCALING_SERIES] +
                 ['threading / ours', 'loky / our processes', 'loky / ours from Python'], body)


def plot_scaling(plt, rows, path):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, sweep, key, xlabel in ((axes[0], 'count', 'tasks', 'number of tasks N'),
                                   (axes[1], 'size', 'bytes', 'argument size (bytes)')):
        for impl, backend, label in SCALING_SERIES:
            pts = sorted((r[key], r['us_per_task'])
                         for r in pick(rows, sweep=sweep, impl=impl, backend=backend))
            if pts:
                style = {'joblib-glib': '-o', 'joblib_glib': '-.^'}.get(impl, '--s')
                ax.plot(*zip(*pts), style, label=label)
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel(xlabel)
        ax.set_ylabel('wall time per task (µs)')
        ax.grid(True, which='both', alpha=0.3)
    axes[0].set_title('trivial tasks (x + 1), n_jobs=2')
    axes[1].set_title('one argument per task, read page by page')
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the tutorial's SVD plot (inner against outer parallelism)

SVD_SERIES = (('joblib-glib', 'inner', 'sequential', 'ours, inner (1 job, BLAS threads)'),
              ('joblib-glib', 'outer', 'processes', 'ours, outer (processes, BLAS 1 thread)'),
              ('joblib-glib', 'outer', 'threading', 'ours, outer (threads, BLAS 1 thread)'),
              ('joblib', 'inner', 'sequential', 'joblib/numpy, inner (loop, BLAS threads)'),
              ('joblib', 'outer', 'loky', 'joblib, outer (loky, BLAS 1 thread)'))


def svd_table(rows):
    svd = pick(rows, workload='svd')
    body = []
    for k in sorted({r['tasks'] for r in svd}):
        secs = [one(svd, impl=i, mode=m, backend=b, tasks=k) for i, m, b, _ in SVD_SERIES]
        val = [r['seconds'] if r else None for r in secs]
        body.append([k] + [fmt_seconds(v) for v in val] +
                     [ratio(val[4], val[1])])
    return table(['SVD tasks'] + [label for *_, label in SVD_SERIES] +
                 ['joblib outer / ours outer (processes)'], body)


def plot_svd(plt, rows, path, cpus):
    svd = pick(rows, workload='svd')
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for impl, mode, backend, label in SVD_SERIES:
        pts = sorted((r['tasks'], r['seconds'])
                     for r in pick(svd, impl=impl, mode=mode, backend=backend))
        if pts:
            style = ('-o' if impl == 'joblib-glib' else '--s')
            ax.plot(*zip(*pts), style, label=label)
    size = svd[0]['size'] if svd else 0
    ax.set_xlabel('number of SVD tasks')
    ax.set_ylabel('running time (s)')
    ax.set_title(f'SVD of {size}×{size} matrices, inner vs outer parallelism, {cpus} CPUs')
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- the tutorial's MCMC plot (running time against n_jobs)

MCMC_SERIES = (('joblib-glib', 'threading', 'ours, C loop, threads'),
               ('joblib-glib', 'processes', 'ours, C loop, processes'),
               ('joblib', 'loky', 'joblib loky, Python loop'))


def mcmc_table(rows):
    mcmc = pick(rows, workload='mcmc')
    body = []
    for n in sorted({r['n_jobs'] for r in mcmc}):
        cells = []
        for impl, backend, _ in MCMC_SERIES:
            r = one(mcmc, impl=impl, backend=backend, n_jobs=n)
            base = one(mcmc, impl=impl, backend=backend, n_jobs=1)
            if r is None:
                cells.append('–')
                continue
            speedup = (f', {base["seconds"] / r["seconds"]:.2f}× of n_jobs=1'
                       if base and n != 1 else '')
            cells.append(fmt_seconds(r['seconds']) + speedup)
        body.append([n] + cells)
    head = []
    for impl, backend, label in MCMC_SERIES:
        r = one(mcmc, impl=impl, backend=backend)
        steps = f'{r["n_iter"]:,}'.replace(',', ' ') if r else ''
        head.append(f'{label} ({r["tasks"]} tasks × {steps} steps)' if r else label)
    return table(['n_jobs'] + head, body)


def plot_mcmc(plt, rows, path, cpus):
    mcmc = pick(rows, workload='mcmc')
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for impl, backend, label in MCMC_SERIES:
        pts = sorted((r['n_jobs'], r['seconds'])
                     for r in pick(mcmc, impl=impl, backend=backend))
        if not pts:
            continue
        r = one(mcmc, impl=impl, backend=backend)
        line, = ax.plot(*zip(*pts), '-o' if impl == 'joblib-glib' else '-s',
                        label=f'{label} ({r["n_iter"]:.0e} steps/task)')
        t1 = dict(pts).get(1)
        if t1:
            xs = [n for n, _ in pts]
            ax.plot(xs, [t1 / n for n in xs], ':', color=line.get_color(), alpha=0.8)
    ax.plot([], [], 'k:', label='ideal: time(1) / n_jobs')
    ax.axvline(cpus, color='grey', alpha=0.4)
    ax.set_xscale('log', base=2)
    ax.set_yscale('log')
    ax.set_xlabel(f'n_jobs (the machine has {cpus} CPUs: grey line)')
    ax.set_ylabel('running time (s)')
    ax.set_title('iterative MCMC-like loop: running time against n_jobs')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
