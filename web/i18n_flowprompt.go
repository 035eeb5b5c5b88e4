package web

// flowPromptMessages are the words of the flow editor's inline prompt recorder.
var flowPromptMessages = map[string]map[string]string{
	langRU: {
		"flow_own_prompt":   "Своя запись «%s»",
		"flow_ip_open":      "Записать или загрузить новую",
		"flow_ip_title":     "Новая запись для этого шага",
		"flow_ip_name":      "Имя записи",
		"flow_ip_name_help": "Маленькие латинские буквы, цифры и знак _. Если такая запись уже есть, она заменится.",
		"flow_ip_file":      "Файл со звуком (WAV или MP3, не больше %d МБ)",
		"flow_ip_record":    "Или запишите голос: «Начать запись», скажите текст, «Стоп».",
		"flow_ip_save":      "Сохранить и выбрать",
		"flow_ip_rec_done":  "Записано %s с. Нажмите «Сохранить и выбрать».",
		"flow_ip_saving":    "Отправляется…",
		"flow_ip_saved":     "Запись «%s» сохранена и выбрана. Не забудьте сохранить меню.",
	},
	langEN: {
		"flow_own_prompt":   "Own recording “%s”",
		"flow_ip_open":      "Record or upload a new one",
		"flow_ip_title":     "A new recording for this step",
		"flow_ip_name":      "Recording name",
		"flow_ip_name_help": "Small Latin letters, digits and _. A recording of that name is replaced.",
		"flow_ip_file":      "Sound file (WAV or MP3, at most %d MB)",
		"flow_ip_record":    "Or record your voice: “Start recording”, say the text, “Stop”.",
		"flow_ip_save":      "Save and choose",
		"flow_ip_rec_done":  "Recorded %s s. Press “Save and choose”.",
		"flow_ip_saving":    "Sending…",
		"flow_ip_saved":     "Recording “%s” saved and chosen. Remember to save the menu.",
	},
}

func init() {
	for lang, m := range flowPromptMessages {
		for k, v := range m {
			messages[lang][k] = v
		}
	}
}
