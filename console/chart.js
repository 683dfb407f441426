// chart.js — small SVG charts drawn with DOM calls and presentation attributes only (no inline
// style, so the page's Content-Security-Policy holds): a line chart and a stacked bar chart, each
// with axes, ticks, tick labels, axis titles and a legend, readable in a screenshot.
import { fmtInt } from './util.js';

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

// About `count` round tick values covering [min, max] (0 included).
export function ticks(min, max, count = 5) {
  min = Math.min(0, min); max = Math.max(0, max);
  if (min === max) max = min + 1;
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw);
  const out = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v * 1e6) / 1e6);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

function frame({ width, height, title, xTitle, yTitle, names, yTicks, labels, left = 78, right = 170 }) {
  const top = 40, bottom = 62;
  const svg = s('svg', { xmlns: NS, viewBox: `0 0 ${width} ${height}`, width, height, class: 'chart', role: 'img', 'aria-label': title });
  svg.append(s('rect', { x: 0, y: 0, width, height, fill: '#ffffff' }));
  svg.append(s('text', { x: left, y: 22, 'font-size': 15, 'font-weight': 'bold', fill: '#222' }, title));
  const plot = { x0: left, x1: width - right, y0: height - bottom, y1: top };
  const lo = yTicks[0], hi = yTicks[yTicks.length - 1];
  const y = (v) => plot.y0 - ((v - lo) / (hi - lo)) * (plot.y0 - plot.y1);
  for (const t of yTicks) {
    svg.append(s('line', { x1: plot.x0, x2: plot.x1, y1: y(t), y2: y(t), stroke: t === 0 ? '#555' : '#e3e3e3', 'stroke-width': t === 0 ? 1.5 : 1 }));
    svg.append(s('text', { x: plot.x0 - 8, y: y(t) + 4, 'text-anchor': 'end', 'font-size': 12, fill: '#333' }, fmtInt(t)));
  }
  svg.append(s('line', { x1: plot.x0, x2: plot.x0, y1: plot.y1, y2: plot.y0, stroke: '#333' }));
  svg.append(s('line', { x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0, stroke: '#333' }));
  svg.append(s('text', { x: (plot.x0 + plot.x1) / 2, y: height - 10, 'text-anchor': 'middle', 'font-size': 13, fill: '#222' }, xTitle));
  svg.append(s('text', { x: 16, y: (plot.y0 + plot.y1) / 2, 'text-anchor': 'middle', 'font-size': 13, fill: '#222', transform: `rotate(-90 16 ${(plot.y0 + plot.y1) / 2})` }, yTitle));
  const legend = s('g', { class: 'legend' });
  names.forEach((name, i) => {
    const ly = top + 8 + i * 20;
    legend.append(s('rect', { x: plot.x1 + 18, y: ly - 10, width: 14, height: 12, fill: PALETTE[i % PALETTE.length] }));
    legend.append(s('text', { x: plot.x1 + 38, y: ly, 'font-size': 13, fill: '#222' }, name));
  });
  svg.append(legend);
  return { svg, plot, y, labels };
}

// One line per series over the x labels (periods). series: [{ name, values: [number|null] }].
export function lineChart({ title, xTitle, yTitle, labels, series, width = 860, height = 380 }) {
  const all = series.flatMap((sr) => sr.values.filter((v) => v !== null));
  const yTicks = ticks(Math.min(0, ...all), Math.max(0, ...all));
  const f = frame({ width, height, title, xTitle, yTitle, names: series.map((sr) => sr.name), yTicks, labels });
  const { svg, plot, y } = f;
  const n = labels.length;
  const x = (i) => (n <= 1 ? (plot.x0 + plot.x1) / 2 : plot.x0 + 24 + (i * (plot.x1 - plot.x0 - 48)) / (n - 1));
  labels.forEach((label, i) => {
    svg.append(s('line', { x1: x(i), x2: x(i), y1: plot.y0, y2: plot.y0 + 5, stroke: '#333' }));
    svg.append(s('text', { x: x(i), y: plot.y0 + 19, 'text-anchor': 'middle', 'font-size': 12, fill: '#333' }, label));
  });
  series.forEach((sr, k) => {
    const color = PALETTE[k % PALETTE.length];
    const points = sr.values.map((v, i) => (v === null ? null : `${x(i)},${y(v)}`)).filter(Boolean);
    svg.append(s('polyline', { points: points.join(' '), fill: 'none', stroke: color, 'stroke-width': 2.5, 'data-series': sr.name }));
    sr.values.forEach((v, i) => {
      if (v === null) return;
      const dot = s('circle', { cx: x(i), cy: y(v), r: 4, fill: color });
      dot.append(s('title', {}, `${sr.name} ${labels[i]}: ${fmtInt(v)}`));
      svg.append(dot);
    });
  });
  return svg;
}

// Bars per x label, each stacked from its series' values (non-negative).
export function stackedBarChart({ title, xTitle, yTitle, labels, series, width = 860, height = 380, every = 1 }) {
  const totals = labels.map((_, i) => series.reduce((sum, sr) => sum + (sr.values[i] || 0), 0));
  const yTicks = ticks(0, Math.max(1, ...totals));
  const { svg, plot, y } = frame({ width, height, title, xTitle, yTitle, names: series.map((sr) => sr.name), yTicks, labels });
  const slot = (plot.x1 - plot.x0) / Math.max(1, labels.length);
  const bar = Math.max(2, slot * 0.7);
  labels.forEach((label, i) => {
    const cx = plot.x0 + slot * (i + 0.5);
    let base = 0;
    series.forEach((sr, k) => {
      const v = sr.values[i] || 0;
      if (v <= 0) return;
      const rect = s('rect', { x: cx - bar / 2, y: y(base + v), width: bar, height: y(base) - y(base + v), fill: PALETTE[k % PALETTE.length] });
      rect.append(s('title', {}, `${sr.name}, week of ${label}: ${fmtInt(v)}`));
      svg.append(rect);
      base += v;
    });
    if (i % every === 0) {
      svg.append(s('line', { x1: cx, x2: cx, y1: plot.y0, y2: plot.y0 + 5, stroke: '#333' }));
      svg.append(s('text', { x: cx, y: plot.y0 + 19, 'text-anchor': 'middle', 'font-size': 11, fill: '#333' }, label));
    }
  });
  return svg;
}
