//! WGS-84 points: great-circle distance, the box around a circle, and the ~1 km grid that
//! coarse location consent rounds to. Shared by nearby search and attendance's geofences.

/// The mean Earth radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in kilometres between two WGS-84 points (haversine).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Great-circle distance in metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    distance_km(a, b) * 1000.0
}

/// The box (south, west, north, east) holding every point within `km` of `at`.
pub fn bounding_box(at: (f64, f64), km: f64) -> (f64, f64, f64, f64) {
    let dlat = (km / EARTH_RADIUS_KM).to_degrees();
    let cos = at.0.to_radians().cos().max(0.01);
    let dlng = ((km / EARTH_RADIUS_KM) / cos).to_degrees().min(180.0);
    ((at.0 - dlat).max(-90.0), at.1 - dlng, (at.0 + dlat).min(90.0), at.1 + dlng)
}

/// The grid coarse consent rounds to, in degrees (0.01° ≈ 1.1 km north–south).
pub const COARSE_STEP_DEG: f64 = 0.01;

/// A point rounded to the ~1 km grid, for coarse location consent.
pub fn coarsen(at: (f64, f64)) -> (f64, f64) {
    ((at.0 * 100.0).round() / 100.0, (at.1 * 100.0).round() / 100.0)
}

/// The farthest a point can be from where `coarsen` put it, in metres, at this latitude: half a
/// grid step each way, the diagonal.
pub fn coarsening_error_m(latitude: f64) -> f64 {
    let half = COARSE_STEP_DEG / 2.0;
    let north = distance_m((latitude, 0.0), (latitude + half, 0.0));
    let east = distance_m((latitude, 0.0), (latitude, half));
    (north * north + east * east).sqrt()
}

/// Whether a point is a WGS-84 coordinate.
pub fn is_valid(at: (f64, f64)) -> bool {
    (-90.0..=90.0).contains(&at.0) && (-180.0..=180.0).contains(&at.1) && at.0.is_finite() && at.1.is_finite()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_on_the_ground() {
        // Tian'anmen to Shanghai People's Square: about 1,067 km.
        let d = distance_km((39.9087, 116.3975), (31.2304, 121.4737));
        assert!((1060.0..1075.0).contains(&d), "{d}");
        assert!(distance_m((30.0, 120.0), (30.0, 120.0)) < 1e-6);
        // 0.001° of latitude is about 111 m.
        let d = distance_m((30.0, 120.0), (30.001, 120.0));
        assert!((110.0..112.5).contains(&d), "{d}");
    }

    #[test]
    fn coarse_points_sit_on_a_one_kilometre_grid() {
        assert_eq!(coarsen((30.27412, 120.15515)), (30.27, 120.16));
        let e = coarsening_error_m(30.0);
        assert!((700.0..760.0).contains(&e), "half a cell's diagonal at 30°N: {e}");
        assert!(!is_valid((91.0, 0.0)) && !is_valid((f64::NAN, 0.0)) && is_valid((-90.0, 180.0)));
    }
}
