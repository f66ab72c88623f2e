// What a React Native or web app writes against the generated types (`make clients`
// type-checks it with `tsc --noEmit`): sign in, list items, wait out a 429 by its code,
// delete the account (a DELETE with a JSON body).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Item = components["schemas"]["ItemRead"];

const api = createClient<paths>({ baseUrl: "http://127.0.0.1:8000" });

const sleep = (seconds: number) => new Promise((done) => setTimeout(done, seconds * 1000));

export async function signIn(email: string, password: string): Promise<string> {
  const { data, error } = await api.POST("/api/v1/auth/login", {
    body: { email, password, device: "Pixel 8" },
  });
  if (error) {
    switch (error.code) {
      case "invalid_credentials":
        throw new Error("Wrong email or password");
      case "too_many_requests":
      case "rate_limited":
        throw new Error("Too many attempts, try again later");
      default:
        throw new Error(`Sign-in failed: ${error.code}`);
    }
  }
  return data.access_token;
}

export async function listItems(token: string, attempts = 3): Promise<Item[]> {
  const { data, error, response } = await api.GET("/api/v1/items", {
    params: { query: { q: "cup", sort: "price", order: "asc", limit: 20 } },
    headers: { Authorization: `Bearer ${token}` },
  });
  if (error) {
    if (error.code === "rate_limited" && attempts > 1) {
      await sleep(Number(response.headers.get("Retry-After") ?? "1"));
      return listItems(token, attempts - 1);
    }
    // @ts-expect-error `code` is the route's enum, not any string: this one it never sends
    if (error.code === "item_not_found") throw new Error("unreachable");
    throw new Error(`Listing failed: ${error.code}`);
  }
  const total: number = data.total;
  const prices: string[] = data.items.map((item) => item.price_with_tax);
  console.log(total, prices);
  return data.items;
}

export async function deleteMyAccount(token: string, password: string): Promise<void> {
  const { error } = await api.DELETE("/api/v1/users/me", {
    body: { password },
    headers: { Authorization: `Bearer ${token}` },
  });
  if (error) {
    switch (error.code) {
      case "wrong_password":
        throw new Error("Wrong password");
      case "cannot_change_self":
        throw new Error("An admin account is deleted by another admin");
      default:
        throw new Error(`Deletion failed: ${error.code}`);
    }
  }
}
