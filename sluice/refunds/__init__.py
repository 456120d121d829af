"""Refunds of escrowed funds to the payer."""
