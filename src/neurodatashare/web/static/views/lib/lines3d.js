// A small WebGL renderer of line segments in 3D, for reconstructions (views/morphology.js):
// every segment of every section in one vertex buffer, drawn with one gl.drawArrays(gl.LINES)
// call, and the soma's points with one gl.POINTS call. Coordinates are int16 (normalised by
// WebGL to -1..1, one scale for all axes). Drag to rotate, wheel to zoom, double-click to
// reset. Orthographic, with depth, on a white background.

const VERTEX = `
attribute vec3 a_pos;
attribute vec3 a_rgb;
uniform mat3 u_rot;
uniform vec2 u_scale;
uniform float u_size;
varying vec3 v_rgb;
void main() {
  vec3 p = u_rot * a_pos;
  gl_Position = vec4(p.xy * u_scale, -p.z * 0.5, 1.0);
  gl_PointSize = u_size;
  v_rgb = a_rgb;
}`;
const FRAGMENT = `
precision mediump float;
varying vec3 v_rgb;
void main() { gl_FragColor = vec4(v_rgb, 1.0); }`;

function shader(gl, kind, source) {
  const s = gl.createShader(kind);
  gl.shaderSource(s, source);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
  return s;
}

function program(gl) {
  const p = gl.createProgram();
  gl.attachShader(p, shader(gl, gl.VERTEX_SHADER, VERTEX));
  gl.attachShader(p, shader(gl, gl.FRAGMENT_SHADER, FRAGMENT));
  gl.linkProgram(p);
  if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p));
  return p;
}

// Rotation about y (yaw), then about x (pitch), as a column-major mat3.
function rotation(yaw, pitch) {
  const cy = Math.cos(yaw);
  const sy = Math.sin(yaw);
  const cp = Math.cos(pitch);
  const sp = Math.sin(pitch);
  return new Float32Array([cy, sp * sy, -cp * sy, 0, cp, sp, sy, -sp * cy, cp * cy]);
}

// `lines`: Int16Array of segment ends (x, y, z per vertex, two vertices a segment) and
// Uint8Array of their colours (r, g, b); `dots` the same for points. Returns the plot.
export function linePlot(container, { lines, lineColours, dots, dotColours }) {
  const canvas = document.createElement("canvas");
  canvas.style.width = "100%";
  canvas.style.height = "100%";
  canvas.style.display = "block";
  canvas.style.cursor = "grab";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "3D drawing of the reconstruction; drag to rotate, scroll to zoom");
  container.append(canvas);
  const gl = canvas.getContext("webgl", { antialias: true, preserveDrawingBuffer: true });
  if (!gl) {
    canvas.remove();
    throw new Error("this browser has no WebGL");
  }
  const prog = program(gl);
  const loc = {
    pos: gl.getAttribLocation(prog, "a_pos"),
    rgb: gl.getAttribLocation(prog, "a_rgb"),
    rot: gl.getUniformLocation(prog, "u_rot"),
    scale: gl.getUniformLocation(prog, "u_scale"),
    size: gl.getUniformLocation(prog, "u_size"),
  };
  const buffers = {};
  const upload = (name, data) => {
    buffers[name] = buffers[name] || gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffers[name]);
    gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
  };
  upload("lines", lines);
  upload("lineColours", lineColours);
  upload("dots", dots);
  upload("dotColours", dotColours);
  const view = { yaw: 0, pitch: 0, zoom: 0.92 };

  function bind(pos, rgb) {
    gl.bindBuffer(gl.ARRAY_BUFFER, buffers[pos]);
    gl.vertexAttribPointer(loc.pos, 3, gl.SHORT, true, 0, 0);
    gl.enableVertexAttribArray(loc.pos);
    gl.bindBuffer(gl.ARRAY_BUFFER, buffers[rgb]);
    gl.vertexAttribPointer(loc.rgb, 3, gl.UNSIGNED_BYTE, true, 0, 0);
    gl.enableVertexAttribArray(loc.rgb);
  }

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const h = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    gl.viewport(0, 0, w, h);
    gl.clearColor(1, 1, 1, 1);
    gl.enable(gl.DEPTH_TEST);
    gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
    gl.useProgram(prog);
    const side = Math.min(w, h);
    gl.uniformMatrix3fv(loc.rot, false, rotation(view.yaw, view.pitch));
    gl.uniform2f(loc.scale, (view.zoom * side) / w, (view.zoom * side) / h);
    gl.uniform1f(loc.size, 6 * ratio);
    bind("lines", "lineColours");
    gl.drawArrays(gl.LINES, 0, lines.length / 3);
    if (dots.length) {
      bind("dots", "dotColours");
      gl.drawArrays(gl.POINTS, 0, dots.length / 3);
    }
  }

  let queued = false;
  const redraw = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  };
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    drag = { x: e.clientX, y: e.clientY, yaw: view.yaw, pitch: view.pitch };
    canvas.setPointerCapture(e.pointerId);
    canvas.style.cursor = "grabbing";
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drag) return;
    view.yaw = drag.yaw + ((e.clientX - drag.x) / canvas.clientWidth) * Math.PI * 2;
    view.pitch = drag.pitch + ((e.clientY - drag.y) / canvas.clientHeight) * Math.PI;
    redraw();
  });
  const release = () => {
    drag = null;
    canvas.style.cursor = "grab";
  };
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener(
    "wheel",
    (e) => {
      e.preventDefault();
      view.zoom = Math.min(60, Math.max(0.2, view.zoom * Math.exp(-e.deltaY * 0.0015)));
      redraw();
    },
    { passive: false },
  );
  canvas.addEventListener("dblclick", () => {
    Object.assign(view, { yaw: 0, pitch: 0, zoom: 0.92 });
    redraw();
  });
  new ResizeObserver(redraw).observe(canvas);

  return {
    canvas,
    gl,
    view,
    draw,
    redraw,
    setColours(newLines, newDots) {
      upload("lineColours", newLines);
      upload("dotColours", newDots);
      redraw();
    },
    // pixels that are not the white background (for the browser tests)
    pixels() {
      draw();
      const out = new Uint8Array(canvas.width * canvas.height * 4);
      gl.readPixels(0, 0, canvas.width, canvas.height, gl.RGBA, gl.UNSIGNED_BYTE, out);
      const colours = new Set();
      let drawn = 0;
      for (let i = 0; i < out.length; i += 4) {
        if (out[i] < 250 || out[i + 1] < 250 || out[i + 2] < 250) {
          drawn += 1;
          if (colours.size < 64) colours.add((out[i] << 16) | (out[i + 1] << 8) | out[i + 2]);
        }
      }
      return { drawn, colours: colours.size };
    },
  };
}
