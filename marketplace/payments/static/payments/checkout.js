// The payment page. With Stripe.js (js.stripe.com/v3) it mounts the Payment Element — card, Alipay and
// WeChat Pay, 3-D Secure, redirects and QR codes handled by Stripe — and confirms in the browser.
// With localstripe's stand-in (development and tests), which has no Payment Element, it mounts the card
// element, tokenises the card, lets our server confirm the PaymentIntent, and runs 3-D Secure through
// stripe.confirmCardPayment when Stripe answers requires_action. Either way the payer ends on the return
// page, which shows what Stripe says; the ledger is written only by Stripe's signed webhook events.
(function () {
  "use strict";
  const form = document.getElementById("payment-form");
  if (!form || typeof Stripe === "undefined") { return; }
  const d = form.dataset;
  const button = document.getElementById("submit-payment");
  const message = document.getElementById("payment-message");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const stripe = Stripe(d.publishableKey, {locale: d.locale});

  function show(text) { message.textContent = text || d.labelFailed; message.hidden = false; }
  function busy(on) { button.disabled = on; button.textContent = on ? d.labelBusy : d.labelPay; }
  function goReturn(paymentIntent) {
    const sep = d.returnUrl.indexOf("?") >= 0 ? "&" : "?";
    window.location.assign(d.returnUrl + sep + "payment_intent=" + encodeURIComponent(paymentIntent));
  }

  if (typeof stripe.confirmPayment === "function") {
    const elements = stripe.elements({clientSecret: d.clientSecret, locale: d.locale});
    elements.create("payment", {layout: "tabs"}).mount("#payment-element");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      busy(true);
      const result = await stripe.confirmPayment({elements: elements, confirmParams: {return_url: d.returnUrl}});
      // Reached only when confirmation failed at once; otherwise Stripe redirects to return_url.
      show(result.error && result.error.message);
      busy(false);
    });
    return;
  }

  const card = stripe.elements().create("card");
  card.mount("#payment-element");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    message.hidden = true;
    busy(true);
    try {
      const tokenised = await stripe.createToken(card);
      if (tokenised.error || !tokenised.token) {
        show(tokenised.error && tokenised.error.message);
        return;
      }
      const response = await fetch(d.confirmUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
        body: JSON.stringify({payment_method: tokenised.token.card.id}),
      });
      const answer = await response.json().catch(function () { return {}; });
      if (!response.ok || answer.status === "failed") {
        show(answer.error);
        return;
      }
      if (answer.status === "requires_action") {
        const auth = await stripe.confirmCardPayment(d.clientSecret);
        if (auth.error) {
          show(auth.error.message);
          return;
        }
      }
      goReturn(answer.payment_intent);
    } catch (err) {
      show(String(err && err.message || err));
    } finally {
      busy(false);
    }
  });
})();
