/*
 * The site's one live connection (loaded on every page for logged-in users): a WebSocket to /ws/live/
 * (protocol: docs/messaging.md) that reconnects by itself, sends a heartbeat, and keeps the header's
 * unread badges current. Pages add their own handlers with MarketplaceLive.on(fn) (chat.js does).
 *
 * No user text is ever put into innerHTML here or in chat.js: text goes through textContent.
 */
(function () {
  "use strict";
  if (window.MarketplaceLive) return;

  var HEARTBEAT_MS = 25000;
  var MAX_BACKOFF_MS = 10000;
  var handlers = [];
  var socket = null;
  var backoff = 500;
  var heartbeat = null;
  var state = { user: null, conversations: {}, messages: 0, notifications: 0 };

  function url() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/live/";
  }

  // .badge sets display, which beats the hidden attribute: hide through the style as well.
  function show(node, count) {
    node.textContent = String(count);
    node.hidden = !count;
    node.style.display = count ? "" : "none";
  }

  function setBadge(name, count) {
    var nodes = document.querySelectorAll('[data-badge="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) show(nodes[i], count);
  }

  function render() {
    setBadge("messages", state.messages);
    setBadge("notifications", state.notifications);
    var items = document.querySelectorAll("[data-unread-for]");
    for (var i = 0; i < items.length; i++) {
      show(items[i], state.conversations[items[i].getAttribute("data-unread-for")] || 0);
    }
  }

  function total() {
    var sum = 0;
    for (var key in state.conversations) sum += state.conversations[key];
    return sum;
  }

  // The same reducer the server's tests use as the client model (tests/messaging/test_events.py).
  function apply(event) {
    switch (event.type) {
      case "hello":
        state.user = event.user;
      // falls through: hello carries a full snapshot of the counts
      case "unread":
        state.conversations = event.conversations || {};
        state.messages = event.messages;
        state.notifications = event.notifications;
        break;
      case "message":
        var m = event.message;
        if (state.user && m.sender.id !== state.user.id) {
          var key = String(m.conversation);
          state.conversations[key] = (state.conversations[key] || 0) + 1;
          state.messages = total();
        }
        break;
      case "notification":
        if (!event.notification.read) state.notifications += 1;
        break;
    }
    render();
  }

  function emit(event) {
    for (var i = 0; i < handlers.length; i++) {
      try {
        handlers[i](event);
      } catch (err) {
        if (window.console) console.error(err);
      }
    }
  }

  function connect() {
    try {
      socket = new WebSocket(url());
    } catch (err) {
      schedule();
      return;
    }
    socket.onopen = function () {
      backoff = 500;
      clearInterval(heartbeat);
      heartbeat = setInterval(function () {
        send({ type: "ping" });
      }, HEARTBEAT_MS);
    };
    socket.onmessage = function (msg) {
      var event;
      try {
        event = JSON.parse(msg.data);
      } catch (err) {
        return;
      }
      apply(event);
      emit(event);
    };
    socket.onclose = function () {
      clearInterval(heartbeat);
      emit({ type: "disconnected" });
      schedule();
    };
  }

  function schedule() {
    setTimeout(connect, backoff + Math.floor(Math.random() * 250));
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  window.MarketplaceLive = {
    on: function (fn) {
      handlers.push(fn);
    },
    send: send,
    isOpen: function () {
      return !!socket && socket.readyState === WebSocket.OPEN;
    },
    state: state,
    // A page that shows a conversation marks it read; the server answers with a fresh "unread" snapshot.
    setUnread: function (conversationId, count) {
      state.conversations[String(conversationId)] = count;
      state.messages = total();
      render();
    },
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
