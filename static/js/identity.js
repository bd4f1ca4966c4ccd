// Campus sign-on picker: filter the institutions as the person types (no inline script: CSP).
(function () {
  document.querySelectorAll('[data-sso-filter]').forEach(function (input) {
    var list = document.querySelector(input.getAttribute('data-sso-filter'));
    if (!list) return;
    var items = list.querySelectorAll('[data-sso-text]');
    var empty = list.querySelector('[data-sso-empty]');
    input.addEventListener('input', function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (item) {
        var text = item.getAttribute('data-sso-text');
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        item.classList.toggle('d-none', !match);
        if (match) shown += 1;
      });
      if (empty) empty.classList.toggle('d-none', shown > 0);
    });
  });
})();

// Provider form: show the settings of the chosen protocol only.
(function () {
  var kind = document.querySelector('[data-kind-select]');
  if (!kind) return;
  function show() {
    document.querySelectorAll('[data-kind]').forEach(function (card) {
      card.classList.toggle('d-none', card.getAttribute('data-kind') !== kind.value);
    });
  }
  kind.addEventListener('change', show);
  show();
})();
