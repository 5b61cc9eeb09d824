/*
 * Live chat on a conversation page, over the site's live connection (live.js; protocol: docs/messaging.md).
 *
 * - Optimistic send: the message shows at once as "sending", with a client id; the server's ack gives it
 *   its stored id. Unacknowledged messages are sent again after a reconnect with the same client id, so a
 *   resend never makes a duplicate.
 * - After every (re)connect the page asks to resume after the last id it has, and the server replays what
 *   was missed, in order.
 * - User text only ever goes into the page through textContent.
 */
(function () {
  "use strict";
  var live = window.MarketplaceLive;
  var configNode = document.getElementById("chat-config");
  if (!live || !configNode) return;

  var config = JSON.parse(configNode.textContent);
  var log = document.querySelector("[data-chat-log]");
  var composer = document.querySelector("[data-composer]");
  var textarea = composer.querySelector("textarea");
  var errorBox = document.querySelector("[data-chat-error]");
  var statusBox = document.querySelector("[data-chat-status]");
  var earlier = document.querySelector("[data-load-earlier]");
  var labels = {};
  var labelNodes = document.getElementById("chat-labels").content.querySelectorAll("[data-key]");
  for (var i = 0; i < labelNodes.length; i++) labels[labelNodes[i].getAttribute("data-key")] = labelNodes[i].textContent;

  var lastId = config.last_id || 0;
  var firstId = config.first_id || 0;
  var receipts = config.receipts || {};
  var pending = {}; // client id -> {text}
  var readSent = 0;

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return "web-" + crypto.randomUUID();
    return "web-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function shortTime(iso) {
    return iso ? iso.substring(5, 10) + " " + iso.substring(11, 16) : "";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function attachmentNode(att) {
    var link = el("a", "chat-attachment" + (att.kind === "pdf" ? " chat-pdf" : ""));
    link.href = att.url;
    link.target = "_blank";
    link.rel = "noopener";
    if (att.kind === "image") {
      var img = document.createElement("img");
      img.src = att.thumb_url || att.url;
      img.alt = att.name;
      img.loading = "lazy";
      link.appendChild(img);
    } else {
      link.textContent = "📄 " + att.name;
    }
    return link;
  }

  function messageNode(m, isPending) {
    var mine = m.sender && m.sender.id === config.user;
    var li = el("li", "chat-message" + (mine ? " mine" : "") + (isPending ? " pending" : ""));
    if (m.id) {
      li.id = "m" + m.id;
      li.setAttribute("data-id", m.id);
    }
    li.setAttribute("data-client-id", m.client_msg_id || "");
    var meta = el("div", "chat-meta");
    meta.appendChild(el("strong", "", m.sender ? m.sender.name : ""));
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(el("span", "muted", m.organisation ? m.organisation.name : ""));
    meta.appendChild(document.createTextNode(" "));
    var time = el("time", "", isPending ? labels.sending : shortTime(m.created_at));
    if (m.created_at) time.setAttribute("datetime", m.created_at);
    meta.appendChild(time);
    li.appendChild(meta);
    if (m.text) li.appendChild(el("div", "chat-text", m.text));
    if (m.attachment) li.appendChild(attachmentNode(m.attachment));
    return li;
  }

  function removeEmpty() {
    var empty = log.querySelector("[data-chat-empty]");
    if (empty) empty.remove();
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.offsetHeight - 200;
  }

  function addMessage(m) {
    if (m.conversation !== config.conversation) return;
    if (document.getElementById("m" + m.id)) return; // already shown (resume overlap)
    removeEmpty();
    var stick = nearBottom();
    var optimistic = m.client_msg_id ? log.querySelector('[data-client-id="' + cssEscape(m.client_msg_id) + '"]:not([data-id])') : null;
    var node = messageNode(m, false);
    if (optimistic) {
      log.replaceChild(node, optimistic);
      delete pending[m.client_msg_id];
    } else {
      // Keep id order even if an older message arrives late (it never should, but order is the contract).
      var after = null;
      var items = log.querySelectorAll("[data-id]");
      for (var i = items.length - 1; i >= 0; i--) {
        if (Number(items[i].getAttribute("data-id")) < m.id) {
          after = items[i];
          break;
        }
      }
      if (after) after.after(node);
      else log.insertBefore(node, log.firstChild);
    }
    lastId = Math.max(lastId, m.id);
    if (!firstId) firstId = m.id;
    showReceipts();
    if (stick) node.scrollIntoView({ block: "end" });
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : value.replace(/["\\]/g, "\\$&");
  }

  function showReceipts() {
    var others = 0;
    for (var user in receipts) if (Number(user) !== config.user) others = Math.max(others, receipts[user]);
    var mine = log.querySelectorAll(".chat-message.mine[data-id]");
    for (var i = 0; i < mine.length; i++) {
      var read = Number(mine[i].getAttribute("data-id")) <= others;
      var tag = mine[i].querySelector(".chat-read");
      if (read && !tag) mine[i].querySelector(".chat-meta").appendChild(el("span", "chat-read", "✓ " + labels.read));
    }
  }

  function markRead() {
    if (document.visibilityState !== "visible" || !lastId || lastId <= readSent) return;
    if (live.send({ type: "read", conversation: config.conversation, last_read_id: lastId })) {
      readSent = lastId;
      live.setUnread(config.conversation, 0);
    }
  }

  function sendPending() {
    for (var clientId in pending) {
      live.send({ type: "send", conversation: config.conversation, client_msg_id: clientId, text: pending[clientId].text });
    }
  }

  function showError(text) {
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
  }

  function fail(clientId, text) {
    var node = log.querySelector('[data-client-id="' + cssEscape(clientId) + '"]:not([data-id])');
    var entry = pending[clientId];
    delete pending[clientId];
    if (node) {
      node.classList.remove("pending");
      node.classList.add("failed");
      var time = node.querySelector("time");
      time.textContent = labels.failed;
      node.title = text;
      node.addEventListener("click", function retry() {
        node.removeEventListener("click", retry);
        node.remove();
        if (entry) submit(entry.text);
      });
    }
    showError(text);
  }

  function submit(text) {
    showError("");
    if (!text.trim()) return;
    if (text.length > config.max_length) {
      showError(labels.failed + " (" + text.length + " / " + config.max_length + ")");
      return;
    }
    var clientId = newClientId();
    pending[clientId] = { text: text };
    removeEmpty();
    var me = live.state.user || { id: config.user, name: "" };
    var node = messageNode({ client_msg_id: clientId, text: text, sender: me }, true);
    log.appendChild(node);
    node.scrollIntoView({ block: "end" });
    live.send({ type: "send", conversation: config.conversation, client_msg_id: clientId, text: text });
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value;
    textarea.value = "";
    submit(text);
    textarea.focus();
  });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  if (earlier) {
    earlier.addEventListener("click", function () {
      earlier.disabled = true;
      fetch(config.history_url + "?before=" + firstId, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.json();
        })
        .then(function (page) {
          var anchor = log.firstChild;
          page.results.forEach(function (m) {
            if (!document.getElementById("m" + m.id)) log.insertBefore(messageNode(m, false), anchor);
          });
          if (page.results.length) firstId = page.results[0].id;
          earlier.hidden = !page.more;
          earlier.disabled = false;
          showReceipts();
        })
        .catch(function () {
          earlier.disabled = false;
        });
    });
  }

  live.on(function (event) {
    switch (event.type) {
      case "hello":
        live.send({ type: "resume", conversation: config.conversation, last_id: lastId });
        break;
      case "resumed":
        if (event.conversation !== config.conversation) break;
        if (event.more) {
          live.send({ type: "resume", conversation: config.conversation, last_id: event.last_id });
          break;
        }
        statusBox.textContent = labels.online;
        sendPending();
        markRead();
        break;
      case "message":
        addMessage(event.message);
        markRead();
        break;
      case "ack":
        if (event.conversation !== config.conversation) break;
        var node = log.querySelector('[data-client-id="' + cssEscape(event.client_msg_id) + '"]:not([data-id])');
        delete pending[event.client_msg_id];
        if (node) {
          node.classList.remove("pending");
          node.id = "m" + event.id;
          node.setAttribute("data-id", event.id);
          var time = node.querySelector("time");
          time.textContent = shortTime(event.created_at);
          time.setAttribute("datetime", event.created_at);
        }
        lastId = Math.max(lastId, event.id);
        readSent = Math.max(readSent, event.id);
        break;
      case "read":
        if (event.conversation !== config.conversation) break;
        receipts[String(event.user.id)] = event.last_read_id;
        showReceipts();
        break;
      case "error":
        if (event.client_msg_id && pending[event.client_msg_id]) fail(event.client_msg_id, event.message);
        else showError(event.message);
        break;
      case "disconnected":
        statusBox.textContent = labels.offline;
        break;
    }
  });

  document.addEventListener("visibilitychange", markRead);
  showReceipts();
  var lastNode = log.lastElementChild;
  if (lastNode) lastNode.scrollIntoView({ block: "end" });
})();
