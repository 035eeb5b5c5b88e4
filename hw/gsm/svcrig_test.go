package gsm

import (
	"hotline/hw/modem/modemtest"
)

// serviceSteps is what the services send after a dialect's own init, with every command
// answered and the SIM ready.
func serviceSteps(fam family) []string {
	s := &services{fam: fam}
	return s.setupSteps()
}

// scriptServices gives the fake the replies of a working modem: SIM ready, registered at home
// on MegaFon, signal 20 (-73 dBm), no SMS waiting.
func scriptServices(m *modemtest.Modem, fam family) {
	m.On("AT+CGMR", "EC25EFAR06A06M4G", "OK")
	m.On("AT+CGSN", "861234567890123", "OK")
	m.On("AT+CPIN?", "+CPIN: READY", "OK")
	m.On("AT+CREG=2", "OK")
	m.On("AT+CREG?", `+CREG: 2,1,"1A2B","01A2D001",7`, "OK")
	m.On("AT+CEREG=2", "OK")
	m.On("AT+CEREG?", `+CEREG: 2,1,"1A2B","01A2D001",7`, "OK")
	m.On("AT+COPS=3,0", "OK")
	m.On("AT+COPS?", `+COPS: 0,0,"MegaFon",7`, "OK")
	for _, c := range fam.signalSteps {
		m.On(c, "OK")
	}
	m.On("AT+CSQ", "+CSQ: 20,99", "OK")
	m.On("AT+CMGF=0", "OK")
	m.On(`AT+CPMS="SM","SM","SM"`, "+CPMS: 0,20,0,20,0,20", "OK")
	m.On("AT+CNMI=2,1,0,2,0", "OK")
	m.On("AT+CMGL=4", "OK")
}
