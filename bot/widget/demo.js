// The demo page passes a customer token from its own URL (?token=…, e.g. from `python -m bot token demo-web-1`),
// as a bank website would pass the logged-in customer's signed token.
"use strict";
window.XinghaiChat = { token: new URLSearchParams(location.search).get("token"), open: true };
