// SVG path data for routed edges.

/** @param {{x:number,y:number}[]} points @param {'bezier'|'smooth'|'polyline'} curve */
export function edgePath(points, curve) {
  if (!points.length) return '';
  const p = (pt) => `${round(pt.x)},${round(pt.y)}`;
  if (curve === 'bezier' && points.length >= 4) {
    let d = `M${p(points[0])}`;
    for (let i = 1; i + 2 < points.length; i += 3) d += `C${p(points[i])} ${p(points[i + 1])} ${p(points[i + 2])}`;
    return d;
  }
  if (points.length === 2 || curve === 'polyline') return `M${points.map(p).join('L')}`;
  return catmullRom(points);
}

/** A smooth curve through every point (for routes given as bend points). */
function catmullRom(points) {
  let d = `M${round(points[0].x)},${round(points[0].y)}`;
  for (let i = 0; i < points.length - 1; i++) {
    const p0 = points[i - 1] || points[i];
    const p1 = points[i];
    const p2 = points[i + 1];
    const p3 = points[i + 2] || p2;
    const c1 = { x: p1.x + (p2.x - p0.x) / 6, y: p1.y + (p2.y - p0.y) / 6 };
    const c2 = { x: p2.x - (p3.x - p1.x) / 6, y: p2.y - (p3.y - p1.y) / 6 };
    d += `C${round(c1.x)},${round(c1.y)} ${round(c2.x)},${round(c2.y)} ${round(p2.x)},${round(p2.y)}`;
  }
  return d;
}

function round(v) {
  return Math.round(v * 10) / 10;
}

/** Roughly the middle of a route, for labels when the layout gave none. */
export function midpoint(points) {
  if (!points.length) return { x: 0, y: 0 };
  if (points.length >= 4 && (points.length - 1) % 3 === 0) {
    // middle of the middle cubic segment
    const seg = Math.floor((points.length - 1) / 3 / 2) * 3;
    const [a, b, c, d] = points.slice(seg, seg + 4);
    return { x: (a.x + 3 * b.x + 3 * c.x + d.x) / 8, y: (a.y + 3 * b.y + 3 * c.y + d.y) / 8 };
  }
  const i = Math.floor((points.length - 1) / 2);
  const a = points[i];
  const b = points[i + 1] || a;
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}
