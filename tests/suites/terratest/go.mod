module aks-spot-test/suites/terratest

go 1.19
