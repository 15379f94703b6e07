// Small progressive enhancement; every page works without it.
document.addEventListener("keydown", (e) => {
  // Ctrl/Cmd+Enter runs the SQL in the editor.
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && e.target.matches("textarea.sql")) {
    e.preventDefault();
    e.target.form.requestSubmit();
  }
});
// Pages showing running pipeline steps refresh themselves until nothing runs.
if (document.querySelector("[data-live]")) {
  setTimeout(() => location.reload(), 2000);
}
