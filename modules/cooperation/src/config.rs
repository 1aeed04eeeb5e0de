//! Cooperation's settings: the `[cooperation]` section (`XQT_COOPERATION__…`).

use serde::{Deserialize, Serialize};
use xqt_kernel::config::ConfigSection;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CooperationConfig {
    /// Largest radius a nearby search may ask for, in kilometres.
    pub nearby_max_km: f64,
    /// Most candidates a nearby search ranks by distance (the densest box is cut here, logged).
    pub nearby_max_candidates: u64,
    /// Deepest a search pages (offset), so a scraper cannot walk the whole index.
    pub search_max_offset: u64,
    /// How long a signed agreement is kept after signing, whatever happens to the accounts (CAN-5).
    pub agreement_hold_days: i64,
    /// Which e-signature provider signs agreements: `builtin` (development only) or `esign`.
    pub signature_provider: SignatureProviderKind,
    /// e签宝 open platform: API base (`https://openapi.esign.cn`, sandbox `https://smlopenapi.esign.cn`).
    pub esign_base_url: String,
    #[serde(deserialize_with = "xqt_kernel::config::text::deserialize")]
    pub esign_app_id: String,
    /// The app secret (APP KEY) that signs requests and the provider's callbacks.
    #[serde(deserialize_with = "xqt_kernel::config::text::deserialize")]
    pub esign_app_secret: String,
    /// The document template agreements are filled into (made once in the e签宝 console).
    #[serde(deserialize_with = "xqt_kernel::config::text::deserialize")]
    pub esign_template_id: String,
    /// Where e签宝 posts sign-flow events: this server's `/webhooks/esign`, as the internet reaches it.
    pub esign_notify_url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureProviderKind {
    Builtin,
    Esign,
}

impl Default for CooperationConfig {
    fn default() -> Self {
        Self {
            nearby_max_km: 50.0,
            nearby_max_candidates: 20_000,
            search_max_offset: 1000,
            agreement_hold_days: 5 * 365,
            signature_provider: SignatureProviderKind::Builtin,
            esign_base_url: "https://smlopenapi.esign.cn".into(),
            esign_app_id: String::new(),
            esign_app_secret: String::new(),
            esign_template_id: String::new(),
            esign_notify_url: String::new(),
        }
    }
}

impl ConfigSection for CooperationConfig {
    const NAME: &'static str = "cooperation";

    fn validate(&self) -> Result<(), String> {
        if !(1.0..=500.0).contains(&self.nearby_max_km) || self.nearby_max_candidates < 100 {
            return Err("nearby_max_km 1 to 500; nearby_max_candidates at least 100".into());
        }
        if self.search_max_offset < 100 || self.agreement_hold_days < 365 {
            return Err("search_max_offset at least 100; agreement_hold_days at least 365".into());
        }
        if self.signature_provider == SignatureProviderKind::Esign {
            let missing: Vec<&str> = [
                ("esign_app_id", &self.esign_app_id),
                ("esign_app_secret", &self.esign_app_secret),
                ("esign_template_id", &self.esign_template_id),
                ("esign_notify_url", &self.esign_notify_url),
                ("esign_base_url", &self.esign_base_url),
            ]
            .iter()
            .filter(|(_, v)| v.trim().is_empty())
            .map(|(k, _)| *k)
            .collect();
            if !missing.is_empty() {
                return Err(format!("signature_provider `esign` needs {}", missing.join(", ")));
            }
        }
        Ok(())
    }
}
