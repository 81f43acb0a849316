// The local Slack workspace in the browser: plain JS, no build step, no external assets.
// It reads everything from /ui/state and re-reads it whenever /ui/events says "change".
"use strict";

const ui = {
  me: null,          // the person we act as
  data: null,        // last /ui/state answer
  channel: null,     // selected conversation id
  tab: "messages",   // "home" or "messages" in the app's conversation
  modalKey: null,    // what the modal on screen was rendered from (keeps typed input)
  events: null,
  lastCount: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "html") node.innerHTML = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  return response.json();
}

// --- text ----------------------------------------------------------------------------------

function escapeHtml(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function userName(id) {
  const user = ui.data && ui.data.users[id];
  return user ? user.real_name : id;
}

function channelLabel(id) {
  const channel = ui.data && ui.data.channels.find((c) => c.id === id);
  return channel ? channel.label : "#" + id;
}

// Slack's control sequences: <@U…>, <#C…|name>, <!here>, <url|label>, <!date^…|fallback>.
function controlSequence(inner) {
  const [target, label] = [inner.split("|")[0], inner.split("|").slice(1).join("|")];
  if (target.startsWith("@")) {
    return `<span class="mention">@${escapeHtml(label || userName(target.slice(1)))}</span>`;
  }
  if (target.startsWith("#")) {
    const name = label ? "#" + label : channelLabel(target.slice(1));
    return `<span class="mention">${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("!")) {
    if (target.startsWith("!date")) return escapeHtml(label || target);
    if (target.startsWith("!subteam")) return `<span class="mention">${escapeHtml(label || "@team")}</span>`;
    return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  }
  const safe = /^(https?:|mailto:)/i.test(target) ? target : "#";
  return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener">${escapeHtml(label || target)}</a>`;
}

function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

// mrkdwn to HTML: escape first, keep code and control sequences aside as placeholders so
// formatting characters inside them are left alone, then apply *bold* _italic_ ~strike~.
function mrkdwn(source) {
  const held = [];
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let text = String(source || "");
  text = text.replace(/```([\s\S]*?)```/g, (_, code) => hold(`<pre>${escapeHtml(unescapeSlack(code))}</pre>`));
  text = text.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escapeHtml(unescapeSlack(code))}</code>`));
  text = text.replace(/<([^<>\n]+)>/g, (_, inner) => hold(controlSequence(unescapeSlack(inner))));
  text = escapeHtml(unescapeSlack(text));
  const edge = "(^|[\\s(\\[{'\"\\u0000])";
  const after = "(?=$|[\\s.,!?;:)\\]}'\"\\u0000])";
  text = text.replace(new RegExp(edge + "\\*([^*\\n]+)\\*" + after, "g"), "$1<b>$2</b>");
  text = text.replace(new RegExp(edge + "_([^_\\n]+)_" + after, "g"), "$1<i>$2</i>");
  text = text.replace(new RegExp(edge + "~([^~\\n]+)~" + after, "g"), "$1<s>$2</s>");
  text = text.replace(/(^|\n)&gt; ?([^\n]*)/g, "$1<blockquote>$2</blockquote>");
  // Slack's client links bare URLs too.
  text = text.replace(/(^|[\s(])(https?:\/\/[^\s<\u0000]+)/g,
    (_, lead, url) => lead + `<a href="${url}" target="_blank" rel="noopener">${url}</a>`);
  text = emojify(text);
  text = text.replace(/\n/g, "<br>");
  return text.replace(/\u0000(\d+)\u0000/g, (_, i) => held[Number(i)]);
}

function textObject(obj, cls) {
  if (!obj) return el("span");
  if (obj.type === "mrkdwn") return el("div", { class: cls, html: mrkdwn(obj.text) });
  return el("div", { class: cls }, plain(obj));
}

function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => (Object.hasOwn(EMOJI, name) ? EMOJI[name] : whole));
}

// plain_text objects: Slack shows emoji shortcodes in them as emoji (emoji: true default).
function plain(obj) {
  if (!obj || typeof obj.text !== "string") return "";
  return obj.emoji === false ? obj.text : emojify(obj.text);
}

// --- block kit -----------------------------------------------------------------------------

// `where`: {channel, ts} for a message, {view_id} for a modal or Home tab.
function sendAction(where, blockId, element, value) {
  return api("/ui/action", {
    user: ui.me, action_id: element.action_id, block_id: blockId, value: value, ...where,
  });
}

function confirmed(element) {
  const c = element.confirm;
  if (!c) return true;
  return window.confirm([plain(c.title), plain(c.text)].filter(Boolean).join("\n\n"));
}

function renderElement(element, blockId, where, view) {
  switch (element.type) {
    case "button": {
      const button = el("button", {
        type: "button",
        class: ["btn", element.style || "", element.url ? "url" : ""].join(" ").trim(),
        onclick: async () => {
          if (!confirmed(element)) return;
          if (element.url) window.open(element.url, "_blank", "noopener");
          button.disabled = true;
          try { await sendAction(where, blockId, element, element.value); } finally { button.disabled = false; }
        },
      }, plain(element.text));
      return button;
    }
    case "static_select":
    case "external_select": {
      const select = el("select", { class: "blk-select", "data-block-id": blockId, "data-action-id": element.action_id });
      select.append(el("option", { value: "" }, plain(element.placeholder) || "Select an item"));
      for (const option of allOptions(element)) {
        select.append(el("option", { value: option.value }, plain(option.text)));
      }
      const initial = view ? currentValue(view, blockId, element)
        : element.initial_option && element.initial_option.value;
      if (initial) select.value = initial;
      // Selects outside input blocks tell the app at once (block_actions), in modals too.
      select.addEventListener("change", () => sendAction(where, blockId, element, select.value || null));
      return select;
    }
    case "overflow": {
      const select = el("select", { class: "blk-select" }, el("option", { value: "" }, "⋯"));
      for (const option of allOptions(element)) select.append(el("option", { value: option.value }, plain(option.text)));
      select.addEventListener("change", () => sendAction(where, blockId, element, select.value || null));
      return select;
    }
    case "image":
      return el("img", { src: element.image_url, alt: element.alt_text || "", title: element.alt_text || "" });
    default:
      return el("span", { class: "blk-unknown" }, `[${element.type}]`);
  }
}

function allOptions(element) {
  const options = [...(element.options || [])];
  for (const group of element.option_groups || []) options.push(...(group.options || []));
  return options;
}

function renderBlocks(blocks, where, view) {
  const frag = document.createDocumentFragment();
  for (const block of blocks || []) frag.append(renderBlock(block, where, view));
  return frag;
}

function renderBlock(block, where, view) {
  const bid = block.block_id;
  switch (block.type) {
    case "header":
      return el("div", { class: "blk blk-header" }, plain(block.text));
    case "section": {
      const main = el("div", { class: "sect-main" });
      if (block.text) main.append(textObject(block.text));
      if (block.fields) {
        const grid = el("div", { class: "blk-fields" });
        for (const field of block.fields) grid.append(textObject(field));
        main.append(grid);
      }
      const node = el("div", { class: "blk blk-section" }, main);
      if (block.accessory) node.append(renderElement(block.accessory, bid, where, view));
      return node;
    }
    case "context": {
      const node = el("div", { class: "blk blk-context" });
      for (const item of block.elements || []) {
        node.append(item.type === "image"
          ? el("img", { src: item.image_url, alt: item.alt_text || "" })
          : textObject(item));
      }
      return node;
    }
    case "divider":
      return el("hr", { class: "blk-divider" });
    case "actions": {
      const node = el("div", { class: "blk blk-actions" });
      for (const element of block.elements || []) node.append(renderElement(element, bid, where, view));
      return node;
    }
    case "image":
      return el("figure", { class: "blk blk-image" },
        block.title ? el("div", {}, plain(block.title)) : null,
        el("img", { src: block.image_url, alt: block.alt_text || "" }),
        el("div", { class: "img-alt" }, block.alt_text || ""));
    case "input":
      return view ? renderInput(block, view) : el("div", { class: "blk-unknown" }, "[input]");
    case "rich_text":
      return el("div", { class: "blk" }, richText(block.elements || []));
    case "markdown":
      return el("div", { class: "blk", html: mrkdwn(block.text || "") });
    default:
      return el("div", { class: "blk blk-unknown" }, `[unsupported block: ${block.type}]`);
  }
}

function richText(elements) {
  const parts = [];
  const walk = (items) => {
    for (const item of items || []) {
      if (item.type === "text") parts.push(item.text);
      else if (item.type === "link") parts.push(item.text || item.url);
      else if (item.type === "user") parts.push("@" + userName(item.user_id));
      else if (item.elements) { walk(item.elements); if (item.type !== "rich_text_section") parts.push("\n"); }
    }
  };
  walk(elements);
  return parts.join("");
}

// --- modal inputs --------------------------------------------------------------------------

function currentValue(view, blockId, element) {
  const entry = ((view.state || {}).values || {})[blockId];
  const saved = entry && entry[element.action_id];
  if (saved) {
    if ("value" in saved) return saved.value;
    if ("selected_option" in saved) return saved.selected_option && saved.selected_option.value;
    if ("selected_options" in saved) return (saved.selected_options || []).map((o) => o.value);
    if ("selected_date" in saved) return saved.selected_date;
  }
  if (element.initial_option) return element.initial_option.value;
  if (element.initial_options) return element.initial_options.map((o) => o.value);
  return element.initial_value ?? element.initial_date ?? null;
}

function renderInput(block, view) {
  const element = block.element || {};
  const value = currentValue(view, block.block_id, element);
  const data = { "data-block-id": block.block_id, "data-action-id": element.action_id, "data-type": element.type };
  const inputId = `in-${block.block_id}`;
  let control;
  switch (element.type) {
    case "plain_text_input":
      control = element.multiline
        ? el("textarea", { id: inputId, ...data, placeholder: plain(element.placeholder) })
        : el("input", { id: inputId, type: "text", ...data, placeholder: plain(element.placeholder) });
      if (value !== null && value !== undefined) control.value = value;
      break;
    case "number_input":
      // type=text so decimals and bad input reach the server's checks like Slack's client.
      control = el("input", { id: inputId, type: "text", inputmode: "decimal", ...data, placeholder: plain(element.placeholder) });
      if (value !== null && value !== undefined) control.value = value;
      break;
    case "email_text_input":
    case "url_text_input":
      control = el("input", { id: inputId, type: element.type === "email_text_input" ? "email" : "url", ...data });
      if (value) control.value = value;
      break;
    case "datepicker":
      control = el("input", { id: inputId, type: "date", ...data });
      if (value) control.value = value;
      break;
    case "static_select":
    case "external_select":
    case "radio_buttons": {
      control = el("select", { id: inputId, ...data });
      control.append(el("option", { value: "" }, plain(element.placeholder) || "Select an option"));
      for (const option of allOptions(element)) control.append(el("option", { value: option.value }, plain(option.text)));
      if (value) control.value = value;
      break;
    }
    case "checkboxes":
    case "multi_static_select": {
      const chosen = new Set(value || []);
      control = el("div", { id: inputId, ...data, "data-multi": "1" });
      for (const option of allOptions(element)) {
        control.append(el("label", { class: "choice" },
          el("input", { type: "checkbox", value: option.value, checked: chosen.has(option.value) }), " ", plain(option.text)));
      }
      break;
    }
    default:
      control = el("input", { id: inputId, type: "text", ...data });
      if (value) control.value = value;
  }
  const error = (view.errors || {})[block.block_id];
  return el("div", { class: "input-block" + (error ? " has-error" : "") },
    el("label", { for: inputId }, plain(block.label), block.optional ? el("span", { class: "optional" }, " (optional)") : null),
    control,
    block.hint ? el("div", { class: "input-hint" }, plain(block.hint)) : null,
    error ? el("div", { class: "input-error", role: "alert" }, error) : null);
}

function collectValues(form) {
  const values = {};
  for (const node of form.querySelectorAll("[data-block-id][data-action-id]")) {
    if (!node.closest(".input-block")) continue;
    const blockId = node.dataset.blockId;
    values[blockId] = values[blockId] || {};
    values[blockId][node.dataset.actionId] = node.dataset.multi
      ? [...node.querySelectorAll("input:checked")].map((c) => c.value)
      : (node.value === "" ? null : node.value);
  }
  return values;
}

function renderModal() {
  const view = ui.data && ui.data.modal;
  const backdrop = $("modal-backdrop");
  if (!view) {
    backdrop.hidden = true;
    ui.modalKey = null;
    return;
  }
  const key = JSON.stringify([view.id, view.hash, view.errors, view.client_error]);
  if (key === ui.modalKey && !backdrop.hidden) return;  // keep what the person is typing
  ui.modalKey = key;
  const form = $("modal");
  form.replaceChildren();
  const close = () => api("/ui/view_close", { user: ui.me, view_id: view.id }).then(refresh);
  form.append(
    el("div", { class: "modal-head" },
      el("h2", {}, plain(view.title)),
      el("button", { type: "button", class: "modal-x", "aria-label": "Close", onclick: close }, "×")),
    el("div", { class: "modal-body" },
      view.client_error ? el("div", { class: "modal-banner", role: "alert" }, view.client_error) : null,
      renderBlocks(view.blocks, { view_id: view.id }, view)),
    el("div", { class: "modal-foot" },
      el("button", { type: "button", class: "btn", onclick: close }, plain(view.close) || "Cancel"),
      view.submit ? el("button", { type: "submit", class: "btn primary", id: "modal-submit" }, plain(view.submit)) : null));
  form.onsubmit = async (event) => {
    event.preventDefault();
    const submit = $("modal-submit");
    if (submit) submit.disabled = true;
    try {
      await api("/ui/view_submit", { user: ui.me, view_id: view.id, values: collectValues(form) });
    } finally {
      ui.modalKey = null;  // re-render from the server's view (errors, update, or closed)
      await refresh();
    }
  };
  backdrop.hidden = false;
  const first = form.querySelector("input, textarea, select");
  if (first) first.focus();
}

// --- conversations -------------------------------------------------------------------------

const COLORS = ["#4a154b", "#1264a3", "#2eb67d", "#e01e5a", "#ecb22e", "#36c5f0", "#9c27b0"];
function avatar(userId) {
  const name = userName(userId);
  const color = COLORS[[...userId].reduce((a, c) => a + c.charCodeAt(0), 0) % COLORS.length];
  const initials = name.split(/\s+/).map((w) => w[0] || "").join("").slice(0, 2).toUpperCase();
  return el("div", { class: "avatar", style: `background:${color}` }, initials);
}

function formatTime(ts) {
  return new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderMessage(message) {
  const isApp = !!message.bot_id;
  const author = isApp ? ui.data.bot.name : userName(message.user);
  const body = el("div", { class: "msg-body" });
  if (message.ephemeral) {
    body.append(el("div", { class: "ephemeral-note" }, "Only visible to you",
      el("a", { onclick: () => api("/ui/dismiss", { user: ui.me, channel: message.channel || ui.channel, ts: message.ts }).then(refresh) }, "Dismiss")));
  }
  body.append(el("div", { class: "msg-meta" },
    el("span", { class: "msg-author" }, author),
    isApp || message.user === "USLACKBOT" ? el("span", { class: "app-badge" }, "APP") : null,
    el("span", { class: "msg-time", title: message.ts }, formatTime(message.ts))));
  if (message.thread_ts && message.thread_ts !== message.ts) {
    body.append(el("div", { class: "thread-note" }, "↳ replied in a thread"));
  }
  const where = { channel: ui.channel, ts: message.ts };
  if (message.blocks && message.blocks.length) body.append(renderBlocks(message.blocks, where, null));
  else body.append(el("div", { html: mrkdwn(message.text) }));
  for (const attachment of message.attachments || []) {
    body.append(el("div", { class: "blk", style: `border-left:4px solid ${attachment.color || "#ddd"};padding-left:8px` },
      attachment.blocks ? renderBlocks(attachment.blocks, where, null) : el("div", { html: mrkdwn(attachment.text || attachment.fallback || "") })));
  }
  if (message.edited) body.append(el("span", { class: "edited" }, "(edited)"));
  return el("div", { class: "msg" + (message.ephemeral ? " ephemeral" : ""), "data-ts": message.ts },
    avatar(message.user), body);
}

function renderNav() {
  const nav = $("nav");
  nav.replaceChildren();
  const section = (title, items) => {
    if (!items.length) return;
    nav.append(el("div", { class: "nav-section" }, el("h2", {}, title),
      items.map((c) => el("button", {
        type: "button",
        class: "nav-item" + (c.id === ui.channel ? " active" : ""),
        onclick: () => select(c.id, "messages"),
      }, c.label, c.is_app_dm ? el("span", { class: "app-tag" }, "APP") : null))));
  };
  const channels = ui.data.channels;
  section("Channels", channels.filter((c) => c.kind === "channel"));
  section("Direct messages", channels.filter((c) => c.kind !== "channel" && !c.is_app_dm));
  section("Apps", channels.filter((c) => c.is_app_dm).map((c) => ({ ...c, label: ui.data.bot.name })));
}

function renderMain() {
  const channel = ui.data.channels.find((c) => c.id === ui.channel);
  if (!channel) return;
  $("channel-title").textContent = channel.is_app_dm ? ui.data.bot.name : channel.label;
  const tabs = $("tabs");
  tabs.replaceChildren();
  if (channel.is_app_dm) {
    for (const [tab, label] of [["home", "Home"], ["messages", "Messages"]]) {
      tabs.append(el("button", { type: "button", role: "tab", class: ui.tab === tab ? "active" : "", onclick: () => select(channel.id, tab) }, label));
    }
  }
  const showHome = channel.is_app_dm && ui.tab === "home";
  $("home").hidden = !showHome;
  $("timeline").hidden = showHome;
  $("composer").hidden = showHome;
  if (showHome) {
    const home = ui.data.home;
    const pane = $("home");
    pane.replaceChildren(home
      ? renderBlocks(home.blocks, { view_id: home.id }, home)
      : el("div", { class: "empty" }, `${ui.data.bot.name} has not published a Home tab yet.`));
    return;
  }
  const timeline = $("timeline");
  const atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 40;
  const messages = (ui.data.messages[channel.id] || []).map((m) => ({ ...m, channel: channel.id }));
  timeline.replaceChildren(...(messages.length
    ? messages.map(renderMessage)
    : [el("div", { class: "empty" }, "No messages yet.")]));
  if (atBottom || messages.length !== ui.lastCount) timeline.scrollTop = timeline.scrollHeight;
  ui.lastCount = messages.length;
}

function select(channelId, tab) {
  const entering = ui.channel !== channelId || ui.tab !== (tab || "messages");
  ui.channel = channelId;
  ui.tab = tab || "messages";
  ui.lastCount = -1;
  render();
  const channel = ui.data && ui.data.channels.find((c) => c.id === channelId);
  // Slack tells the app each time a person enters its Home or Messages tab (app_home_opened).
  if (entering && channel && channel.is_app_dm) {
    api("/ui/app_home_opened", { user: ui.me, tab: ui.tab }).catch((err) => showError(String(err)));
  }
}

function render() {
  if (!ui.data) return;
  $("team-name").textContent = ui.data.team.name;
  if (!ui.data.channels.some((c) => c.id === ui.channel)) {
    const first = ui.data.channels.find((c) => c.kind === "channel") || ui.data.channels[0];
    ui.channel = first && first.id;
  }
  renderNav();
  renderMain();
  renderModal();
}

async function refresh() {
  if (!ui.me) return;
  const asked = ui.me;
  const data = await api(`/ui/state?user=${encodeURIComponent(asked)}`);
  if (data.ok === false) return;
  // Answers can arrive out of order: never let an older state, or one for the person we were
  // before switching, replace a newer one.
  if (asked !== ui.me) return;
  if (ui.data && ui.data.me === data.me && data.version < ui.data.version) return;
  ui.data = data;
  render();
}

function connect() {
  if (ui.events) ui.events.close();
  ui.events = new EventSource(`/ui/events?user=${encodeURIComponent(ui.me)}`);
  ui.events.addEventListener("change", () => { $("connection").hidden = true; refresh(); });
  ui.events.onerror = () => { $("connection").hidden = false; };
}

// --- composer ------------------------------------------------------------------------------

function updateHint() {
  const text = $("compose-text").value;
  const hint = $("command-hint");
  const matches = text.startsWith("/") && !text.includes(" ") && ui.data
    ? ui.data.commands.filter((c) => c.startsWith(text)) : [];
  hint.hidden = !matches.length;
  hint.replaceChildren(...matches.map((c) => el("div", {
    onclick: () => { $("compose-text").value = c + " "; hint.hidden = true; $("compose-text").focus(); },
  }, c)));
}

async function send(event) {
  event.preventDefault();
  const box = $("compose-text");
  const text = box.value.trim();
  if (!text || !ui.channel) return;
  box.value = "";
  updateHint();
  const path = text.startsWith("/") ? "/ui/command" : "/ui/message";
  await api(path, { user: ui.me, channel: ui.channel, text });
  await refresh();
}

async function start() {
  const people = await api("/ui/people");
  const who = $("who");
  for (const person of people.people) who.append(el("option", { value: person.id }, `${person.real_name} (${person.id})`));
  const wanted = new URLSearchParams(location.search).get("user") || localStorage.getItem("local-slack-user");
  ui.me = people.people.some((p) => p.id === wanted) ? wanted : (people.people[0] || {}).id;
  who.value = ui.me;
  who.addEventListener("change", () => {
    ui.me = who.value;
    localStorage.setItem("local-slack-user", ui.me);
    ui.channel = null;
    ui.modalKey = null;
    connect();
    refresh();
  });
  $("composer").addEventListener("submit", send);
  $("compose-text").addEventListener("input", updateHint);
  $("compose-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && ui.data && ui.data.modal) {
      api("/ui/view_close", { user: ui.me, view_id: ui.data.modal.id }).then(refresh);
    }
  });
  connect();
  await refresh();
}

// Show page errors instead of failing silently: this page is a developer tool.
function showError(message) {
  const banner = $("connection");
  banner.textContent = "Page error: " + message;
  banner.hidden = false;
}
window.addEventListener("error", (event) => showError(event.message));
window.addEventListener("unhandledrejection", (event) => showError(String(event.reason && event.reason.message || event.reason)));

start();
