package web

// testCallMessages are the words of the test-call page.
var testCallMessages = map[string]map[string]string{
	langRU: {
		"tc_title":    "Пробный звонок",
		"tc_link":     "Позвонить на линию прямо отсюда",
		"tc_intro":    "Позвоните на свою линию прямо из браузера: вы услышите приветствие и меню, сможете нажимать кнопки и оставить пробное сообщение — всё так же, как у настоящего звонящего. Браузер попросит разрешить микрофон.",
		"tc_ready":    "Готово к звонку.",
		"tc_call":     "Позвонить на линию",
		"tc_hangup":   "Положить трубку",
		"tc_keypad":   "Кнопки телефона",
		"tc_help":     "Кнопки работают, пока идёт звонок: нажатие звучит как тон настоящего телефона.",
		"tc_calling":  "Звоним… Коробка скоро ответит.",
		"tc_up":       "Разговор идёт. Слушайте приветствие.",
		"tc_ended":    "Звонок окончен.",
		"tc_busy":     "Сейчас уже идёт пробный звонок. Попробуйте позже.",
		"tc_nomic":    "Нет доступа к микрофону. Разрешите его в браузере и попробуйте снова.",
		"tc_key_sent": "Нажата кнопка",
		"tc_off":      "Пробный звонок из браузера на этой коробке выключен.",
	},
	langEN: {
		"tc_title":    "Test call",
		"tc_link":     "Call the hotline from this page",
		"tc_intro":    "Call your own line from the browser: you hear the greeting and menu, can press keys and leave a test message, just like a real caller. The browser will ask to use the microphone.",
		"tc_ready":    "Ready to call.",
		"tc_call":     "Call the hotline",
		"tc_hangup":   "Hang up",
		"tc_keypad":   "Phone keys",
		"tc_help":     "The keys work during the call: each press sounds like a real phone's tone.",
		"tc_calling":  "Calling… The box will answer shortly.",
		"tc_up":       "The call is up. Listen to the greeting.",
		"tc_ended":    "The call has ended.",
		"tc_busy":     "A test call is already going on. Try again later.",
		"tc_nomic":    "No access to the microphone. Allow it in the browser and try again.",
		"tc_key_sent": "Key pressed",
		"tc_off":      "Test calls from the browser are off on this box.",
	},
}

func init() {
	for lang, m := range testCallMessages {
		for k, v := range m {
			messages[lang][k] = v
		}
	}
}
