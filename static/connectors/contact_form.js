// The contact form without round trips: provinces follow the country, a new account reloads its
// lists, and the form cannot be sent twice. Without JavaScript the `_refresh` buttons do the same.
(function () {
  "use strict";
  const form = document.getElementById("contact-form");
  if (!form) return;
  const account = form.querySelector("#id_account");
  const country = form.querySelector("#id_country_code");
  const region = form.querySelector("#id_region_code");

  form.querySelectorAll(".js-hide").forEach((el) => { el.hidden = true; });

  function reloadWith(what) {
    const flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = "_refresh";
    flag.value = what;
    form.appendChild(flag);
    form.submit();
  }

  function regionNote(text) {
    let note = document.getElementById("id_region_code_helptext");
    if (!note) {
      note = document.createElement("div");
      note.id = "id_region_code_helptext";
      note.className = "form-text";
      region.insertAdjacentElement("afterend", note);
    }
    note.textContent = text || "";
  }

  if (account) account.addEventListener("change", () => reloadWith("account"));

  if (country && region) {
    // The province last chosen for each country is remembered in this tab, so that a page the
    // browser restores (Back) gets its province back: the browser restores the country, not the
    // list that was fetched for it.
    const remembered = "keapconnect-regions";
    const rememberedFor = (code) => (JSON.parse(sessionStorage.getItem(remembered) || "{}")[code] || "");
    let latest = 0; // only the answer to the newest request may fill the list

    async function loadProvinces(selected) {
      const request = ++latest;
      region.replaceChildren(new Option("—", ""));
      region.disabled = true;
      if (!country.value) {
        regionNote("Choose a country first.");
        form.dataset.provincesFor = "";
        return;
      }
      const url = new URL(form.dataset.provincesUrl, window.location.href);
      url.searchParams.set("account", account ? account.value : "");
      url.searchParams.set("country", country.value);
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(response.statusText);
        const data = await response.json();
        if (request !== latest) return; // the country changed again meanwhile
        region.replaceChildren(new Option("—", ""));
        data.provinces.forEach((p) => region.add(new Option(p.name, p.code, false, p.code === selected)));
        region.disabled = data.provinces.length === 0;
        regionNote(data.message);
        form.dataset.provincesFor = country.value;
      } catch (error) {
        if (request !== latest) return;
        // The server round trip still works; its page lists this country's provinces (or says why
        // not) and names the country in data-provinces-for, so it is never asked for again.
        reloadWith("provinces");
      }
    }

    country.addEventListener("change", () => loadProvinces(""));
    region.addEventListener("change", () => {
      const regions = JSON.parse(sessionStorage.getItem(remembered) || "{}");
      regions[country.value] = region.value;
      sessionStorage.setItem(remembered, JSON.stringify(regions));
    });
    window.addEventListener("pageshow", () => {
      // After the browser restored the form (it does so once the page has loaded): the list shown
      // is for the country in data-provinces-for, which may not be the country restored.
      if (country.value !== (form.dataset.provincesFor || "")) {
        loadProvinces(rememberedFor(country.value));
      }
    });
  }

  form.addEventListener("submit", (event) => {
    if (form.dataset.sending) { event.preventDefault(); return; }
    form.dataset.sending = "1";
    const submitter = event.submitter;
    const refreshing = submitter && submitter.name === "_refresh";
    if (refreshing && submitter.dataset.busyLabel) {
      submitter.textContent = submitter.dataset.busyLabel; // Keap may take a while
    }
    form.querySelectorAll('button[type="submit"]:not([name="_refresh"])').forEach((button) => {
      if (!refreshing) button.textContent = button.dataset.submitLabel || button.textContent;
      setTimeout(() => { button.disabled = true; }, 0);
    });
  });

  // Back to this page from the browser's cache: it may be sent again (with the same key, which the
  // server answers with the earlier result).
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    delete form.dataset.sending;
    form.querySelectorAll('button[type="submit"]').forEach((button) => { button.disabled = false; });
  });
})();
