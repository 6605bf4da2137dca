/* The sign-in page: send the name and password, go to the admin page, or say what went wrong
   and let the person try again. */
import { explain } from "./api.js";

const form = document.getElementById("login");
const error = document.getElementById("login-error");
const field = (name) => form.elements.namedItem(name);

/** null once signed in (the page is on its way to /admin); otherwise what to tell the person. */
async function signIn() {
  try {
    const response = await fetch("/api/admin/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({
        username: field("username").value,
        password: field("password").value,
      }),
    });
    if (response.ok) {
      location.assign("/admin");
      return null;
    }
    if (response.status === 401) return "Wrong user name or password.";
    return explain(await response.json().catch(() => ({})), response.status);
  } catch {
    return "The kiosk server did not answer. Check the network and try again.";
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = form.querySelector("button");
  button.disabled = true;
  error.hidden = true;
  const problem = await signIn();
  if (problem === null) return;
  error.textContent = problem;
  error.hidden = false;
  button.disabled = false;
  field("password").select();
});
