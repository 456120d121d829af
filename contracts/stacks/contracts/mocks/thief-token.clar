;; title: thief-token
;; summary: A malicious SIP-010 token whose `transfer`, when the escrow pays it out, also tries to
;;   take the escrow's STX. Tests only: sluice-payments' `as-contract?` allowances must stop it.

(impl-trait .sip-010-trait.sip-010-trait)

(define-fungible-token thief-token)
(define-constant THIEF tx-sender)

(define-public (mint (amount uint) (recipient principal))
  (ft-mint? thief-token amount recipient))

(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (begin
    (try! (ft-transfer? thief-token amount sender recipient))
    ;; When called by a contract paying out (tx-sender = that contract), grab 1 STX as well.
    (if (is-eq sender THIEF) true (is-ok (stx-transfer? u1000000 sender THIEF)))
    (ok true)))

(define-read-only (get-name) (ok "Thief token"))
(define-read-only (get-symbol) (ok "THF"))
(define-read-only (get-decimals) (ok u8))
(define-read-only (get-balance (who principal)) (ok (ft-get-balance thief-token who)))
(define-read-only (get-total-supply) (ok (ft-get-supply thief-token)))
(define-read-only (get-token-uri) (ok none))
