/// The release of this `crtauth`: `crtauth --version`, the line `crtauth serve` prints when it
/// listens, and `/healthz`'s `"version"`. Change it here and nowhere else.
let crtauthVersion = "0.2.0"
