// Phone or desktop layout (the console is used on both).
import { ref } from "vue";

const query = typeof window !== "undefined" && window.matchMedia ? window.matchMedia("(max-width: 767px)") : null;
export const phone = ref(Boolean(query?.matches));
query?.addEventListener("change", () => { phone.value = Boolean(query?.matches); });
