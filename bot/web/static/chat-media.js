// The web chat's photo and place buttons, shared by the widget (widget.js, inside its
// shadow root) and the full-page chat (chat.js). Defines window.CivicChatMedia.attach.
//
// Photo: a file chosen by the citizen goes to POST /api/chat/photo; its GPS position is
// used as the place only if the citizen ticks the box (the server strips it otherwise).
// Place: the browser's position when the citizen allows it; if refused or unavailable, a
// map of the districts drawn as SVG from GET /api/chat/map, with no outside server (map
// tiles only when the city configured a tile URL). A point is picked by clicking or
// tapping, or with the arrow keys and Enter, and turned back into latitude and longitude.
//
// The host gives: `bar` (where the two buttons go), `panelHost` (where their panels open),
// `apiBase`, `language()` ("zh" | "en"), and `deliver(path, body, echo)`, which sends
// with the session token, shows the citizen's echo and the replies (a body with a `photo`
// Blob goes as multipart). No inline script or style is used.
(function () {
  "use strict";
  if (window.CivicChatMedia) { return; }

  const SVG = "http://www.w3.org/2000/svg";
  const TILE = 256;
  const TYPES = "image/jpeg,image/png,image/webp";

  const LABELS = {
    zh: {
      photo: "添加照片",
      place: "分享位置",
      photoTitle: "添加照片",
      choose: "选择照片",
      useGps: "用照片里记录的拍摄位置作为问题地点",
      gpsNote: "不勾选时,照片中的位置等信息会在上传时删除。",
      sendPhoto: "上传并发送",
      cancel: "取消",
      noFile: "请先选择一张照片。",
      photoEcho: "📷 照片",
      placeTitle: "分享位置",
      locating: "正在获取您的位置…",
      useMine: "使用我当前的位置",
      refused: "无法获取您的位置(未允许或不可用)。请在下面的地图上点选地点。",
      mapHelp: "点击地图选择地点;也可以用方向键移动标记,按回车发送。",
      mapLabel: "各区地图:选择问题地点",
      chosen: "已选择:{district} 纬度 {lat},经度 {long}",
      outside: "城市范围外",
      sendPlace: "发送这个地点",
      noPoint: "请先在地图上选择一个地点。",
      placeEcho: "📍 位置 {lat}, {long}",
      mapFailed: "地图无法加载,请用文字告诉我地点。",
    },
    en: {
      photo: "Attach a photo",
      place: "Share a place",
      photoTitle: "Attach a photo",
      choose: "Choose a photo",
      useGps: "Use the place stored in the photo as the problem's location",
      gpsNote: "Unless ticked, the photo's position and other details are removed on upload.",
      sendPhoto: "Upload and send",
      cancel: "Cancel",
      noFile: "Please choose a photo first.",
      photoEcho: "📷 Photo",
      placeTitle: "Share a place",
      locating: "Finding your location…",
      useMine: "Use my current location",
      refused: "Your location is not available (not allowed or not found). Please pick the place on the map below.",
      mapHelp: "Click the map to pick the place, or move the marker with the arrow keys and press Enter to send it.",
      mapLabel: "Map of the districts: pick the problem's place",
      chosen: "Chosen: {district}, latitude {lat}, longitude {long}",
      outside: "outside the city",
      sendPlace: "Send this place",
      noPoint: "Please pick a place on the map first.",
      placeEcho: "📍 Place {lat}, {long}",
      mapFailed: "The map could not be loaded. Please tell me the place in words.",
    },
  };

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function fill(text, params) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return String(params[k]); });
  }

  // Web Mercator world pixels at `zoom` back to degrees (the server's civic.city._map).
  function unproject(x, y, zoom) {
    const size = TILE * Math.pow(2, zoom);
    const long = x / size * 360 - 180;
    const lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * y / size))) * 180 / Math.PI;
    return { lat: Math.round(lat * 1e6) / 1e6, long: Math.round(long * 1e6) / 1e6 };
  }

  let counter = 0;

  function attach(host) {
    const id = "cfm-" + (++counter);
    const L = function () { return LABELS[host.language() === "en" ? "en" : "zh"]; };

    // ---- the two buttons ---------------------------------------------------------------
    const photoButton = el("button", {
      type: "button", class: "media-button", "aria-expanded": "false", "aria-controls": id + "-photo",
    });
    const placeButton = el("button", {
      type: "button", class: "media-button", "aria-expanded": "false", "aria-controls": id + "-place",
    });
    const photoIcon = el("span", { "aria-hidden": "true" }, ["📷"]);
    const placeIcon = el("span", { "aria-hidden": "true" }, ["📍"]);
    const photoText = el("span", { class: "sr-only visually-hidden" });
    const placeText = el("span", { class: "sr-only visually-hidden" });
    photoButton.append(photoIcon, photoText);
    placeButton.append(placeIcon, placeText);
    host.bar.append(photoButton, placeButton); // after Send: Shift+Tab from the input still reaches the replies

    // ---- the photo panel ---------------------------------------------------------------
    const photoTitle = el("h3", { id: id + "-photo-title", class: "media-title" });
    const fileLabel = el("label", { for: id + "-file", class: "media-label" });
    const file = el("input", { id: id + "-file", type: "file", accept: TYPES, class: "media-file" });
    const gps = el("input", { id: id + "-gps", type: "checkbox", "aria-describedby": id + "-gps-note" });
    const gpsLabel = el("label", { for: id + "-gps" });
    const gpsNote = el("p", { id: id + "-gps-note", class: "media-note" });
    const sendPhoto = el("button", { type: "button", class: "media-primary" });
    const cancelPhoto = el("button", { type: "button", class: "media-secondary" });
    const photoStatus = el("p", { class: "media-status", role: "status" });
    const photoPanel = el("section", {
      id: id + "-photo", class: "media-panel", "aria-labelledby": id + "-photo-title", hidden: "",
    }, [
      photoTitle, fileLabel, file,
      el("div", { class: "media-check" }, [gps, gpsLabel]), gpsNote,
      el("div", { class: "media-actions" }, [sendPhoto, cancelPhoto]), photoStatus,
    ]);

    // ---- the place panel ---------------------------------------------------------------
    const placeTitle = el("h3", { id: id + "-place-title", class: "media-title" });
    const useMine = el("button", { type: "button", class: "media-secondary" });
    const placeStatus = el("p", { class: "media-status", role: "status", "aria-live": "polite" });
    const mapHelp = el("p", { id: id + "-map-help", class: "media-note" });
    const map = svg("svg", {
      class: "media-map", tabindex: "0", role: "application",
      "aria-describedby": id + "-map-help", preserveAspectRatio: "xMidYMid meet",
    });
    const mapBox = el("div", { class: "media-map-box", hidden: "" }, [mapHelp, map]);
    const sendPlace = el("button", { type: "button", class: "media-primary", hidden: "" });
    const cancelPlace = el("button", { type: "button", class: "media-secondary" });
    const placePanel = el("section", {
      id: id + "-place", class: "media-panel", "aria-labelledby": id + "-place-title", hidden: "",
    }, [
      placeTitle, useMine, placeStatus, mapBox,
      el("div", { class: "media-actions" }, [sendPlace, cancelPlace]),
    ]);
    host.panelHost.append(photoPanel, placePanel);

    function applyLabels() {
      const T = L();
      photoButton.title = T.photo; photoText.textContent = T.photo;
      placeButton.title = T.place; placeText.textContent = T.place;
      photoTitle.textContent = T.photoTitle; fileLabel.textContent = T.choose;
      gpsLabel.textContent = T.useGps; gpsNote.textContent = T.gpsNote;
      sendPhoto.textContent = T.sendPhoto; cancelPhoto.textContent = T.cancel;
      placeTitle.textContent = T.placeTitle; useMine.textContent = T.useMine;
      mapHelp.textContent = T.mapHelp; map.setAttribute("aria-label", T.mapLabel);
      sendPlace.textContent = T.sendPlace; cancelPlace.textContent = T.cancel;
    }

    // ---- opening and closing -----------------------------------------------------------
    function openPanel(panel, button, focus) {
      [[photoPanel, photoButton], [placePanel, placeButton]].forEach(function (pair) {
        pair[0].hidden = pair[0] !== panel;
        pair[1].setAttribute("aria-expanded", String(pair[0] === panel));
      });
      applyLabels();
      focus.focus();
    }
    function closePanel(panel, button) {
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      button.focus();
    }
    [[photoPanel, photoButton], [placePanel, placeButton]].forEach(function (pair) {
      pair[0].addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation(); // the panel closes, not the whole chat
          closePanel(pair[0], pair[1]);
        }
      });
    });

    // ---- photo -------------------------------------------------------------------------
    photoButton.addEventListener("click", function () {
      if (!photoPanel.hidden) { closePanel(photoPanel, photoButton); return; }
      photoStatus.textContent = "";
      openPanel(photoPanel, photoButton, file);
    });
    cancelPhoto.addEventListener("click", function () { closePanel(photoPanel, photoButton); });
    sendPhoto.addEventListener("click", function () {
      const chosen = file.files && file.files[0];
      if (!chosen) { photoStatus.textContent = L().noFile; file.focus(); return; }
      const body = { photo: chosen, use_gps: gps.checked ? "1" : "0" };
      file.value = "";
      gps.checked = false;
      closePanel(photoPanel, photoButton);
      host.deliver("api/chat/photo", body, L().photoEcho);
    });

    // ---- place -------------------------------------------------------------------------
    let drawn = null; // {zoom, districts: [{name, path element}]}
    let point = null; // {x, y} in the map's coordinates
    const pin = svg("g", { class: "media-pin", "aria-hidden": "true" });
    pin.append(svg("circle", { r: "14" }), svg("circle", { r: "4", class: "media-pin-dot" }));

    placeButton.addEventListener("click", function () {
      if (!placePanel.hidden) { closePanel(placePanel, placeButton); return; }
      placeStatus.textContent = "";
      openPanel(placePanel, placeButton, useMine);
      if (!("geolocation" in navigator)) { showMap(L().refused); }
    });
    cancelPlace.addEventListener("click", function () { closePanel(placePanel, placeButton); });
    useMine.addEventListener("click", function () {
      if (!("geolocation" in navigator)) { showMap(L().refused); return; }
      placeStatus.textContent = L().locating;
      navigator.geolocation.getCurrentPosition(function (position) {
        const where = {
          lat: Math.round(position.coords.latitude * 1e6) / 1e6,
          long: Math.round(position.coords.longitude * 1e6) / 1e6,
        };
        deliverPlace(where);
      }, function () {
        showMap(L().refused);
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    function deliverPlace(where) {
      closePanel(placePanel, placeButton);
      host.deliver("api/chat/location", { lat: where.lat, long: where.long },
        fill(L().placeEcho, where));
    }

    async function loadMap() {
      if (drawn) { return drawn; }
      const response = await fetch(new URL("api/chat/map", host.apiBase), { credentials: "omit" });
      if (!response.ok) { throw new Error("no map"); }
      const data = await response.json();
      const box = data.view_box;
      map.setAttribute("viewBox", box.join(" "));
      if (typeof data.tile_url === "string" && /^https?:\/\//.test(data.tile_url)) {
        drawTiles(data.tile_url, data.zoom, box);
      }
      const districts = (data.districts || []).map(function (d) {
        const path = svg("path", { d: d.path, class: "media-district" });
        map.append(path);
        return { name: d.name || {}, path: path };
      });
      // the marker is sized to the map, whatever the city's extent
      pin.firstChild.setAttribute("r", String(box[2] / 45));
      pin.lastChild.setAttribute("r", String(box[2] / 180));
      map.append(pin);
      drawn = { zoom: data.zoom, box: box, districts: districts };
      return drawn;
    }

    function drawTiles(template, zoom, box) {
      const layer = svg("g", { class: "media-tiles", "aria-hidden": "true" });
      for (let x = Math.floor(box[0] / TILE); x * TILE < box[0] + box[2]; x++) {
        for (let y = Math.floor(box[1] / TILE); y * TILE < box[1] + box[3]; y++) {
          const href = template.replace("{z}", zoom).replace("{x}", x).replace("{y}", y);
          layer.append(svg("image", {
            href: href, x: x * TILE, y: y * TILE, width: TILE, height: TILE,
          }));
        }
      }
      map.append(layer);
    }

    async function showMap(message) {
      placeStatus.textContent = message;
      try {
        await loadMap();
      } catch (err) {
        placeStatus.textContent = L().mapFailed;
        return;
      }
      mapBox.hidden = false;
      sendPlace.hidden = false;
      if (!point) { setPoint(drawn.box[0] + drawn.box[2] / 2, drawn.box[1] + drawn.box[3] / 2, false); }
      map.focus();
    }

    function districtAt(x, y) {
      const lang = host.language() === "en" ? "en" : "zh";
      const found = drawn.districts.find(function (d) {
        return d.path.isPointInFill(new DOMPoint(x, y));
      });
      drawn.districts.forEach(function (d) { d.path.classList.toggle("chosen", d === found); });
      return found ? found.name[lang] || "" : L().outside;
    }

    function setPoint(x, y, announce) {
      const box = drawn.box;
      x = Math.min(Math.max(x, box[0]), box[0] + box[2]);
      y = Math.min(Math.max(y, box[1]), box[1] + box[3]);
      point = { x: x, y: y };
      pin.setAttribute("transform", "translate(" + x + " " + y + ")");
      const where = unproject(x, y, drawn.zoom);
      const district = districtAt(x, y);
      if (announce) {
        placeStatus.textContent = fill(L().chosen, {
          district: district, lat: where.lat.toFixed(4), long: where.long.toFixed(4),
        });
      }
    }

    map.addEventListener("click", function (event) {
      if (!drawn) { return; }
      const matrix = map.getScreenCTM();
      if (!matrix) { return; }
      const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
      setPoint(at.x, at.y, true);
    });

    map.addEventListener("keydown", function (event) {
      if (!drawn || !point) { return; }
      const step = drawn.box[2] / (event.shiftKey ? 10 : 50);
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[event.key]) {
        event.preventDefault();
        setPoint(point.x + moves[event.key][0], point.y + moves[event.key][1], true);
      } else if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sendPlace.click();
      }
    });

    sendPlace.addEventListener("click", function () {
      if (!drawn || !point) { placeStatus.textContent = L().noPoint; return; }
      deliverPlace(unproject(point.x, point.y, drawn.zoom));
    });

    applyLabels();
    return { applyLabels: applyLabels };
  }

  window.CivicChatMedia = { attach: attach };
})();
