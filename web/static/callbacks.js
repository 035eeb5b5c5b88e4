// While a callback placed from the page is under way, reload the page every few seconds so
// that the owner sees when it ends. The page loads this script only then.
"use strict";
(function () {
  var left = 120; // at most ten minutes of reloading from one page view
  function tick() {
    if (document.querySelector("[data-calling]") && left-- > 0) {
      setTimeout(function () { location.reload(); }, 5000);
    }
  }
  tick();
})();
