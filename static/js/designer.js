/* Certificate designer: a page canvas at the true aspect ratio, elements positioned in millimetres.
   The design lives in the form's hidden "design" input (JSON); the server checks and compiles it.
   Positions are set through the CSSOM (el.style.left = ...), which the strict CSP allows. */
(function () {
  'use strict';
  const root = document.getElementById('designer');
  const form = document.getElementById('template-form');
  if (!root || !form) return;

  const input = form.querySelector('input[name="design"]');
  const canvas = document.getElementById('canvas');
  const props = document.getElementById('props');
  const config = JSON.parse(root.dataset.config);
  const starters = JSON.parse(root.dataset.starters);
  const PT_MM = 25.4 / 72;
  const $ = (id) => document.getElementById(id);
  let elements = null;
  try { elements = input.value ? JSON.parse(input.value) : null; } catch (e) { elements = null; }
  let selected = -1;
  let warnings = [];
  let previewTimer = null;
  let previewSeq = 0;

  // ---------------------------------------------------------------- page geometry
  function pageMm() {
    const size = form.querySelector('[name="page_size"]').value;
    const portrait = config.pages[size] || config.pages.A4;
    return form.querySelector('[name="orientation"]').value === 'landscape' ? [portrait[1], portrait[0]] : portrait;
  }
  function pxPerMm() { return canvas.clientWidth / pageMm()[0]; }
  function round(v) { return Math.round(v * 10) / 10; }
  function clampElement(e) {
    const [pw, ph] = pageMm();
    const least = e.kind === 'line' ? 0.2 : 2;
    e.w = round(Math.min(Math.max(e.w, least), pw));
    e.h = round(Math.min(Math.max(e.h, least), ph));
    e.x = round(Math.min(Math.max(e.x, 0), pw - e.w));
    e.y = round(Math.min(Math.max(e.y, 0), ph - e.h));
  }

  // ---------------------------------------------------------------- drawing
  function sampleText(text) {
    return text.replace(/\{([a-z_]+)\}/g, (m, name) => (name in config.samples ? config.samples[name] : m));
  }
  function label(e, i) {
    if (e.kind === 'text') return 'Text ' + (i + 1) + ': ' + (e.text || '(empty)');
    if (e.kind === 'image') return 'Image ' + (i + 1) + ': ' + e.source;
    if (e.kind === 'qr') return 'QR code ' + (i + 1);
    return (e.kind === 'box' ? 'Box ' : 'Line ') + (i + 1);
  }
  function render() {
    const [pw, ph] = pageMm();
    canvas.style.aspectRatio = pw + ' / ' + ph;
    const hadFocus = canvas.contains(document.activeElement); // redrawing must not lose the keyboard's place
    canvas.replaceChildren();
    $('designer-empty').hidden = elements !== null;
    $('designer-body').hidden = elements === null;
    $('save-design').disabled = elements === null;
    if (elements === null) { showProps(); return; }
    const scale = pxPerMm();
    elements.forEach((e, i) => {
      const node = document.createElement('div');
      node.className = 'el el-' + e.kind + (i === selected ? ' selected' : '') +
        (warnings.some((w) => w.element === i) ? ' overflow' : '');
      node.tabIndex = 0;
      node.dataset.index = String(i);
      node.setAttribute('role', 'button');
      node.setAttribute('aria-label', label(e, i) + (i === selected ? ' (selected)' : ''));
      node.setAttribute('aria-pressed', i === selected ? 'true' : 'false');
      node.style.left = (e.x / pw * 100) + '%';
      node.style.top = (e.y / ph * 100) + '%';
      node.style.width = (e.w / pw * 100) + '%';
      node.style.height = (e.h / ph * 100) + '%';
      drawContent(node, e, scale);
      if (i === selected) {
        const handle = document.createElement('span');
        handle.className = 'el-handle';
        handle.setAttribute('aria-hidden', 'true');
        node.appendChild(handle);
      }
      canvas.appendChild(node);
      if (e.kind === 'text') shrinkToFit(node.firstChild, e, scale);
    });
    if (hadFocus) focusSelected();
    showProps();
  }
  function drawContent(node, e, scale) {
    if (e.kind === 'text') {
      const span = document.createElement('span');
      span.className = 'el-text';
      span.textContent = sampleText(e.text);
      span.style.fontFamily = e.font === 'DejaVu Serif' ? '"Laurel DejaVu Serif", Georgia, serif' : '"Laurel DejaVu Sans", Verdana, sans-serif';
      span.style.fontWeight = e.bold ? 'bold' : 'normal';
      span.style.textTransform = e.upper ? 'uppercase' : 'none';
      span.style.color = e.color;
      span.style.textAlign = e.align;
      node.appendChild(span);
    } else if (e.kind === 'image') {
      const url = config.assets[e.source];
      if (url) {
        const img = document.createElement('img');
        img.src = url; img.alt = '';
        img.className = 'el-img align-' + e.align;
        node.appendChild(img);
      } else {
        node.appendChild(document.createTextNode(e.source + ' (upload below)'));
        node.classList.add('el-placeholder');
      }
    } else if (e.kind === 'qr') {
      node.appendChild(document.createTextNode('QR'));
    } else if (e.kind === 'box') {
      node.style.borderWidth = Math.max(e.stroke * PT_MM * scale, e.stroke ? 1 : 0) + 'px';
      node.style.borderColor = e.color;
      node.style.backgroundColor = e.fill || 'transparent';
    } else if (e.kind === 'line') {
      node.style.backgroundColor = e.color;
    }
  }
  // What the PDF does (fit_size): the largest size down to min_size that fits on one line.
  function shrinkToFit(span, e, scale) {
    let size = e.size;
    const maxByHeight = e.h / PT_MM / 1.25;
    size = Math.max(Math.min(size, maxByHeight), e.min_size);
    span.style.fontSize = (size * PT_MM * scale) + 'px';
    span.style.whiteSpace = 'nowrap';
    const room = span.parentNode.clientWidth;
    if (span.scrollWidth > room && room > 0) {
      size = Math.max(e.min_size, size * room / span.scrollWidth);
      span.style.fontSize = (size * PT_MM * scale) + 'px';
    }
    if (span.scrollWidth > room + 1) span.style.whiteSpace = 'normal';
  }

  // ---------------------------------------------------------------- properties panel
  const fields = {
    x: $('p-x'), y: $('p-y'), w: $('p-w'), h: $('p-h'), text: $('p-text'), font: $('p-font'),
    size: $('p-size'), min_size: $('p-min'), color: $('p-color'), align: $('p-align'), bold: $('p-bold'),
    upper: $('p-upper'), source: $('p-source'), ialign: $('p-ialign'), lcolor: $('p-lcolor'),
    stroke: $('p-stroke'), fill: $('p-fill'), nofill: $('p-nofill'),
  };
  function showProps() {
    const e = elements && elements[selected];
    props.disabled = !e;
    $('props-title').textContent = e ? label(e, selected) : 'Select an element on the page';
    props.querySelectorAll('[data-kinds]').forEach((group) => {
      group.hidden = !e || !group.dataset.kinds.split(' ').includes(e.kind);
    });
    if (!e) return;
    ['x', 'y', 'w', 'h'].forEach((k) => { if (document.activeElement !== fields[k]) fields[k].value = e[k]; });
    if (e.kind === 'text') {
      if (document.activeElement !== fields.text) fields.text.value = e.text;
      fields.font.value = e.font; fields.size.value = e.size; fields.min_size.value = e.min_size;
      fields.color.value = e.color; fields.align.value = e.align; fields.bold.checked = e.bold;
      fields.upper.checked = e.upper;
    } else if (e.kind === 'image') {
      fields.source.value = e.source; fields.ialign.value = e.align;
    } else if (e.kind === 'box' || e.kind === 'line') {
      fields.lcolor.value = e.color;
      if (e.kind === 'box') { fields.stroke.value = e.stroke; fields.fill.value = e.fill || '#ffffff'; fields.nofill.checked = !e.fill; }
    }
  }
  function number(el, fallback) { const v = parseFloat(el.value); return Number.isFinite(v) ? v : fallback; }
  function readProps() {
    const e = elements && elements[selected];
    if (!e) return;
    const before = JSON.stringify(e);
    ['x', 'y', 'w', 'h'].forEach((k) => { e[k] = number(fields[k], e[k]); });
    if (e.kind === 'text') {
      e.text = fields.text.value.slice(0, 300);
      e.font = fields.font.value; e.color = fields.color.value; e.align = fields.align.value;
      e.size = Math.min(Math.max(number(fields.size, e.size), 4), 144);
      e.min_size = Math.min(Math.max(number(fields.min_size, e.min_size), 4), e.size);
      e.bold = fields.bold.checked; e.upper = fields.upper.checked;
    } else if (e.kind === 'image') {
      e.source = fields.source.value; e.align = fields.ialign.value;
    } else if (e.kind === 'box' || e.kind === 'line') {
      e.color = fields.lcolor.value;
      if (e.kind === 'box') {
        e.stroke = Math.min(Math.max(number(fields.stroke, e.stroke), 0), 12);
        e.fill = fields.nofill.checked ? '' : fields.fill.value;
      }
    }
    clampElement(e);
    if (JSON.stringify(e) !== before) changed(); // a "change" after "input" repeats it: no redraw
  }
  props.addEventListener('input', readProps);
  props.addEventListener('change', readProps);
  $('p-insert').addEventListener('change', (event) => {
    const name = event.target.value;
    if (!name) return;
    const field = fields.text;
    const at = field.selectionStart ?? field.value.length;
    field.value = field.value.slice(0, at) + '{' + name + '}' + field.value.slice(field.selectionEnd ?? at);
    event.target.value = '';
    readProps();
    field.focus();
  });

  // ---------------------------------------------------------------- changes, preview, save
  function changed() {
    input.value = elements === null ? '' : JSON.stringify(elements);
    render();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, 700);
  }
  function refreshPreview() {
    if (elements === null) return;
    const data = new FormData(form);
    data.set('design', JSON.stringify(elements));
    const seq = ++previewSeq;
    $('preview-status').textContent = 'Rendering the preview…';
    fetch(root.dataset.previewUrl, { method: 'POST', body: data, headers: { 'X-CSRFToken': data.get('csrf_token') } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
      .then(({ ok, body }) => {
        if (seq !== previewSeq) return; // an older answer: a newer preview is on its way
        $('preview-error').hidden = ok;
        if (!ok) { $('preview-error').textContent = body.error || 'The preview failed.'; $('preview-status').textContent = ''; return; }
        if (body.image) { $('preview-img').src = body.image; $('preview-img').hidden = false; }
        $('preview-pdf').href = body.pdf_url; $('preview-pdf').hidden = false;
        warnings = body.warnings || [];
        const list = $('overflow-list');
        list.replaceChildren(...warnings.map((w) => { const li = document.createElement('li'); li.textContent = w.message; return li; }));
        $('overflow-box').hidden = warnings.length === 0;
        $('preview-status').textContent = warnings.length ? warnings.length + ' text box(es) too small for long names: marked red on the page.' : 'Preview up to date. Long names in several scripts fit every text box.';
        render();
      })
      .catch(() => { if (seq === previewSeq) $('preview-status').textContent = 'The preview could not be loaded.'; });
  }
  $('preview-refresh').addEventListener('click', refreshPreview);
  form.addEventListener('submit', () => { input.value = elements === null ? '' : JSON.stringify(elements); });
  // Another page size or orientation: the design scales with the page (text sizes and line
  // thickness stay), as the server scales the starting designs.
  let lastPage = pageMm();
  ['page_size', 'orientation'].forEach((name) => form.querySelector('[name="' + name + '"]').addEventListener('change', () => {
    const page = pageMm();
    const fx = page[0] / lastPage[0];
    const fy = page[1] / lastPage[1];
    lastPage = page;
    if (elements) {
      elements.forEach((e) => {
        e.x *= fx; e.w *= fx; e.y *= fy;
        if (!(e.kind === 'line' && e.h < e.w)) e.h *= fy;
        clampElement(e);
      });
    }
    changed();
  }));

  // ---------------------------------------------------------------- adding and removing
  function add(element) {
    if (elements === null) elements = [];
    if (elements.length >= 60) { $('preview-status').textContent = 'A design has at most 60 elements.'; return; }
    const [pw, ph] = pageMm();
    element.x = element.x ?? (pw - element.w) / 2; element.y = element.y ?? (ph - element.h) / 2;
    clampElement(element);
    elements.push(element);
    selected = elements.length - 1;
    changed();
    focusSelected();
  }
  $('add-text').addEventListener('click', () => {
    const token = $('add-token').value;
    add({ kind: 'text', w: 120, h: 10, text: token ? '{' + token + '}' : 'Your text', font: 'DejaVu Sans', size: 16,
      min_size: 8, bold: false, upper: false, color: '#1f2a3a', align: 'center' });
  });
  $('add-image').addEventListener('click', () => add({ kind: 'image', w: 50, h: 20, source: $('add-source').value, align: 'center' }));
  $('add-qr').addEventListener('click', () => add({ kind: 'qr', w: 25, h: 25 }));
  $('add-box').addEventListener('click', () => { const [pw, ph] = pageMm(); add({ kind: 'box', x: 10, y: 10, w: pw - 20, h: ph - 20, color: '#1f3a5f', stroke: 2, fill: '' }); });
  $('add-line').addEventListener('click', () => add({ kind: 'line', w: 80, h: 0.6, color: '#b08d57' }));
  function removeSelected() {
    if (!elements || selected < 0) return;
    elements.splice(selected, 1);
    selected = Math.min(selected, elements.length - 1);
    changed();
    focusSelected();
  }
  $('delete-el').addEventListener('click', removeSelected);
  function moveLayer(step) {
    const to = selected + step;
    if (!elements || selected < 0 || to < 0 || to >= elements.length) return;
    [elements[selected], elements[to]] = [elements[to], elements[selected]];
    selected = to;
    changed();
  }
  $('raise-el').addEventListener('click', () => moveLayer(1));
  $('lower-el').addEventListener('click', () => moveLayer(-1));
  $('starter-load').addEventListener('click', () => {
    const key = $('starter-select').value;
    const page = form.querySelector('[name="page_size"]').value + '-' + form.querySelector('[name="orientation"]').value;
    if (elements && elements.length && !window.confirm('Replace the whole design with the starting design?')) return;
    elements = JSON.parse(JSON.stringify(starters[key][page]));
    selected = -1;
    changed();
  });

  // ---------------------------------------------------------------- selecting, dragging, keyboard
  function focusSelected() {
    const node = canvas.querySelector('[data-index="' + selected + '"]');
    if (node) node.focus();
  }
  function select(index) {
    if (index === selected) return;
    selected = index;
    render();
    focusSelected();
  }
  let drag = null;
  canvas.addEventListener('pointerdown', (event) => {
    const node = event.target.closest('.el');
    if (!node) { select(-1); return; }
    const index = Number(node.dataset.index);
    const resizing = event.target.classList.contains('el-handle');
    select(index);
    if (document.activeElement !== node && !canvas.contains(document.activeElement)) focusSelected();
    const e = elements[index];
    drag = { index, resizing, startX: event.clientX, startY: event.clientY, orig: { x: e.x, y: e.y, w: e.w, h: e.h }, moved: false };
    canvas.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!drag) return;
    const scale = pxPerMm();
    const dx = (event.clientX - drag.startX) / scale;
    const dy = (event.clientY - drag.startY) / scale;
    const e = elements[drag.index];
    if (drag.resizing) { e.w = drag.orig.w + dx; e.h = drag.orig.h + dy; } else { e.x = drag.orig.x + dx; e.y = drag.orig.y + dy; }
    clampElement(e);
    drag.moved = true;
    const node = canvas.querySelector('[data-index="' + drag.index + '"]');
    const [pw, ph] = pageMm();
    node.style.left = (e.x / pw * 100) + '%'; node.style.top = (e.y / ph * 100) + '%';
    node.style.width = (e.w / pw * 100) + '%'; node.style.height = (e.h / ph * 100) + '%';
    showProps();
  });
  function endDrag(event) {
    if (!drag) return;
    const moved = drag.moved;
    drag = null;
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
    if (moved) { changed(); focusSelected(); }
  }
  canvas.addEventListener('pointerup', endDrag);
  canvas.addEventListener('pointercancel', endDrag);
  canvas.addEventListener('focusin', (event) => {
    const node = event.target.closest('.el');
    if (node && Number(node.dataset.index) !== selected && !drag) select(Number(node.dataset.index));
  });
  canvas.addEventListener('keydown', (event) => {
    if (selected < 0 || !elements) return;
    const step = event.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key in moves) {
      const e = elements[selected];
      if (event.altKey) { // Alt+arrows resize: right/down grow, left/up shrink
        e.w += moves[event.key][0]; e.h += moves[event.key][1];
      } else {
        e.x += moves[event.key][0]; e.y += moves[event.key][1];
      }
      clampElement(e);
      changed();
      focusSelected();
      event.preventDefault();
    } else if (event.key === 'Delete' || event.key === 'Backspace') {
      removeSelected();
      event.preventDefault();
    } else if (event.key === 'Escape') {
      select(-1);
    }
  });

  // ---------------------------------------------------------------- images uploaded without leaving the page
  const assetForm = document.getElementById('asset-form');
  if (assetForm) {
    assetForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const data = new FormData(assetForm);
      $('asset-status').textContent = 'Uploading…';
      fetch(assetForm.action, { method: 'POST', body: data })
        .then((r) => r.text())
        .then((html) => {
          const doc = new DOMParser().parseFromString(html, 'text/html');
          const fresh = doc.getElementById('asset-list');
          const alert = doc.querySelector('.alert-danger, .alert-success');
          if (fresh) document.getElementById('asset-list').replaceWith(fresh);
          config.assets = {};
          document.querySelectorAll('#asset-list [data-role]').forEach((li) => { config.assets[li.dataset.role] = li.dataset.url; });
          $('asset-status').textContent = alert ? alert.textContent.trim() : 'Done.';
          assetForm.reset();
          render();
          refreshPreview();
        })
        .catch(() => { $('asset-status').textContent = 'The upload failed: try again.'; });
    });
  }

  // ---------------------------------------------------------------- start
  Object.entries(config.tokens).forEach(([name, text]) => {
    [$('add-token'), $('p-insert')].forEach((sel) => sel.appendChild(new Option(text + ' {' + name + '}', name)));
  });
  config.fonts.forEach((font) => fields.font.appendChild(new Option(font, font)));
  new ResizeObserver(() => { if (!drag) render(); }).observe($('canvas-wrap'));
  // The PDF's own fonts, so the canvas measures and shrinks text as the PDF does.
  (config.faces || []).forEach((face) => {
    const font = new FontFace('Laurel ' + face.family, 'url(' + face.url + ')', { weight: face.weight });
    document.fonts.add(font);
    font.load().then(() => { if (!drag) render(); }).catch(() => { /* the fallback fonts will do */ });
  });
  render();
  if (elements !== null) refreshPreview();
}());
