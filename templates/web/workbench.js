// The workbench page's live updates (newsletter preview --web). The server sends an
// event on /events each time the digest or a template changes; the page then fetches
// itself again and swaps in the new <main>, keeping the scroll position. Without this
// script the page is complete, just not live.
(function () {
  "use strict";
  var main = function () { return document.getElementById("workbench"); };
  function refresh() {
    fetch("./", { cache: "no-store" })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("workbench");
        var current = main();
        if (!fresh || !current) { return; }
        var x = window.scrollX, y = window.scrollY;
        current.replaceWith(fresh);
        window.scrollTo(x, y);
      })
      .catch(function () { /* the next event tries again */ });
  }
  function listen() {
    var source = new EventSource("events");
    source.addEventListener("change", function (event) {
      var current = main();
      if (!current || current.dataset.version !== event.data) { refresh(); }
    });
  }
  if (window.EventSource && window.fetch && window.DOMParser) { listen(); }
})();
