// Tiny progressive enhancement: choosing a date reloads the page with the state as it stood.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("when");
  if (!form) return;
  ["as_of", "known_at"].forEach(function (id) {
    var input = document.getElementById(id);
    if (!input) return;
    input.addEventListener("change", function () {
      form.querySelectorAll("input").forEach(function (i) { i.disabled = !i.value; });
      form.submit();
    });
  });
  form.addEventListener("submit", function () {
    form.querySelectorAll("input").forEach(function (i) { i.disabled = !i.value; });
  });
});
