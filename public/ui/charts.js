/**
 * Live time-series charts over uPlot (the global `uPlot` from vendor/uPlot.iife.min.js).
 *
 * A History keeps the last samples of any number of named series on one time axis (a series
 * that appears later is null before, one that disappears is null after), bounded to `limit`
 * points. A LiveChart draws a History; when the set of series changes (a bucket created, a DCP
 * connection opened or closed) the chart is rebuilt, since uPlot's series are fixed per
 * instance, and otherwise only its data is replaced.
 */

const clock = (t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

const COLORS = ['#0b6bcb', '#d9480f', '#2b8a3e', '#862e9c', '#c2255c', '#1098ad', '#e67700', '#495057'];

export class History {
  /** @param {number} limit points kept */
  constructor(limit) {
    this.limit = limit;
    /** @type {number[]} unix seconds */
    this.times = [];
    /** @type {Map<string, (number|null)[]>} */
    this.series = new Map();
  }

  /**
   * Add one sample: `values` maps series name to value at `time` (unix seconds).
   * @param {number} time
   * @param {Map<string, number>} values
   */
  push(time, values) {
    const n = this.times.length;
    this.times.push(time);
    for (const [name, value] of values) {
      if (!this.series.has(name)) this.series.set(name, new Array(n).fill(null));
    }
    for (const [name, points] of this.series) points.push(values.has(name) ? values.get(name) : null);
    if (this.times.length > this.limit) {
      this.times.shift();
      for (const points of this.series.values()) points.shift();
    }
    // A series with no value left in the window is gone.
    for (const [name, points] of this.series) {
      if (points.every((p) => p === null)) this.series.delete(name);
    }
  }
}

export class LiveChart {
  /**
   * @param {HTMLElement} el where to draw
   * @param {{ empty: string, format?: (v: number) => string }} opts
   */
  constructor(el, opts) {
    this.el = el;
    this.opts = opts;
    this.plot = null;
    this.names = '';
    new ResizeObserver(() => this.plot?.setSize(this.#size())).observe(el);
  }

  #size() {
    return { width: Math.max(200, this.el.clientWidth), height: 200 };
  }

  /** @param {History} history */
  draw(history) {
    const names = [...history.series.keys()];
    const key = JSON.stringify(names);
    if (names.length === 0) {
      this.plot?.destroy();
      this.plot = null;
      this.names = key;
      const p = document.createElement('p');
      p.className = 'none';
      p.textContent = this.opts.empty;
      this.el.replaceChildren(p);
      return;
    }
    const data = [history.times, ...names.map((n) => history.series.get(n))];
    if (this.plot && key === this.names) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.el.replaceChildren();
    this.names = key;
    const format = this.opts.format ?? ((v) => v.toLocaleString());
    this.plot = new uPlot(
      {
        ...this.#size(),
        cursor: { drag: { x: false, y: false } },
        legend: { live: false },
        scales: { y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(1, (max ?? 1) * 1.1)] } },
        axes: [
          // Whole seconds at least: samples are a second or more apart.
          { space: 80, incrs: [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], values: (_u, ticks) => ticks.map((t) => clock(t)) },
          { values: (_u, ticks) => ticks.map((t) => format(t)), size: 60 },
        ],
        series: [
          {},
          ...names.map((label, i) => ({
            label,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            spanGaps: false,
            value: (_u, v) => (v == null ? '—' : format(v)),
          })),
        ],
      },
      data,
      this.el,
    );
  }
}
