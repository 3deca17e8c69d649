// The UI's own script: small Alpine components (the CSP build evaluates no expressions, so every
// component is registered here by name) and nothing else. No inline script anywhere.
"use strict";
document.addEventListener("alpine:init", () => {
  // A part of the page that opens and closes (the application picker).
  window.Alpine.data("disclosure", () => ({
    open: false,
    toggle() {
      this.open = !this.open;
    },
  }));
});
