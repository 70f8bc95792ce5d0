//! The API's routes and the function behind each: one table the local gateway serves from and the
//! SAM template is checked against.

pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub function: &'static str,
}

const fn route(method: &'static str, path: &'static str, function: &'static str) -> Route {
    Route { method, path, function }
}

pub const ROUTES: &[Route] = &[
    route("PUT", "/sellers/me", "sellers"),
    route("GET", "/sellers/me", "sellers"),
    route("GET", "/resellers", "sellers"),
    route("POST", "/products", "sellers"),
    route("GET", "/products", "sellers"),
    route("GET", "/products/{productId}", "sellers"),
    route("POST", "/opportunities", "create-opportunity"),
    route("GET", "/opportunities", "query"),
    route("GET", "/opportunities/{id}", "query"),
    route("PATCH", "/opportunities/{id}", "update-opportunity"),
    route("POST", "/opportunities/{id}/revoke", "update-opportunity"),
    route("POST", "/opportunities/{id}/release", "update-opportunity"),
    route("POST", "/offers", "extend-offer"),
    route("GET", "/offers", "query"),
    route("GET", "/offers/{id}", "query"),
    route("PATCH", "/offers/{id}", "update-offer"),
    route("POST", "/offers/{id}/cancel", "update-offer"),
    route("POST", "/offers/{id}/accept", "accept-offer"),
    route("GET", "/agreements", "query"),
    route("GET", "/agreements/{id}", "query"),
    route("GET", "/agreements/{id}/cancellation", "query"),
    route("POST", "/agreements/{id}/cancellation", "cancel-agreement"),
    route("DELETE", "/agreements/{id}/cancellation", "cancel-agreement"),
    route("POST", "/agreements/{id}/cancellation/accept", "cancel-agreement"),
    route("POST", "/agreements/{id}/cancellation/reject", "cancel-agreement"),
    route("POST", "/agreements/{id}/usage", "meter-usage"),
    route("GET", "/invoices", "query"),
    route("GET", "/invoices/{id}", "query"),
    route("GET", "/reports/sales", "query"),
    route("GET", "/reports/billing", "query"),
    route("POST", "/opportunities/{id}/clone", "create-opportunity"),
    route("POST", "/opportunities/import", "create-opportunity"),
    route("GET", "/opportunities/{id}/changeset", "query"),
    route("GET", "/opportunities/{id}/eula", "query"),
    route("GET", "/opportunities/{id}/reseller-agreement", "query"),
    route("GET", "/offers/{id}/eula", "query"),
    route("POST", "/documents", "documents"),
    route("POST", "/documents/{id}/complete", "documents"),
    route("GET", "/documents/{id}", "documents"),
];

impl Route {
    /// API Gateway's route key, e.g. `GET /offers/{id}`.
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Matches a concrete path, returning the path parameters.
    pub fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let want: Vec<&str> = self.path.strip_prefix('/')?.split('/').collect();
        let got: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if want.len() != got.len() || got.iter().any(|segment| segment.is_empty()) {
            return None;
        }
        let mut params = Vec::new();
        for (w, g) in want.iter().zip(&got) {
            match w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                Some(name) if !g.is_empty() => params.push((name.to_string(), g.to_string())),
                Some(_) => return None,
                None if w == g => {}
                None => return None,
            }
        }
        Some(params)
    }
}

/// A route found for a request, with its path parameters.
pub type Match = (&'static Route, Vec<(String, String)>);

/// The route for a method and path, if any; `Err(true)` when the path exists with other methods.
pub fn find(method: &str, path: &str) -> Result<Match, bool> {
    let mut path_known = false;
    for r in ROUTES {
        if let Some(params) = r.matches(path) {
            if r.method == method {
                return Ok((r, params));
            }
            path_known = true;
        }
    }
    Err(path_known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_segments_win_over_none_and_params_are_named() {
        let (r, p) = find("POST", "/offers/offer-1/accept").unwrap();
        assert_eq!((r.function, p), ("accept-offer", vec![("id".to_string(), "offer-1".to_string())]));
        assert_eq!(find("GET", "/sellers/me").unwrap().0.key(), "GET /sellers/me");
        assert_eq!(find("DELETE", "/offers/x").err(), Some(true));
        assert_eq!(find("GET", "/nowhere").err(), Some(false));
        assert_eq!(find("GET", "/offers//").err(), Some(false));
    }
}
