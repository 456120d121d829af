;; title: sip-010-trait
;; summary: The SIP-010 fungible token trait, as published by the standard.
;; description: sluice-payments takes tokens as this trait. Clarity checks trait conformance
;;   structurally when a token is passed, so every SIP-010 token (sBTC included) qualifies without
;;   declaring `impl-trait` against this copy; deploying our own copy avoids a remote requirement.

(define-trait sip-010-trait
  (
    ;; Transfer from the sender to a new principal
    (transfer (uint principal principal (optional (buff 34))) (response bool uint))
    ;; the human readable name of the token
    (get-name () (response (string-ascii 32) uint))
    ;; the ticker symbol, or empty if none
    (get-symbol () (response (string-ascii 32) uint))
    ;; the number of decimals used, e.g. 6 would mean 1_000_000 represents 1 token
    (get-decimals () (response uint uint))
    ;; the balance of the passed principal
    (get-balance (principal) (response uint uint))
    ;; the current total supply (which does not need to be a constant)
    (get-total-supply () (response uint uint))
    ;; an optional URI that represents metadata of this token
    (get-token-uri () (response (optional (string-utf8 256)) uint))
  )
)
